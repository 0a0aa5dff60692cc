package delivery_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lightr-mail/lightr/ent/message"
	"github.com/lightr-mail/lightr/mail/delivery"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/db"
)

// TestDeliver_ConcurrentUIDs delivers 50 messages at once to one mailbox:
// UIDs are 1 to 50 without gaps, each message's MODSEQ is distinct, and
// the mailbox and account counters add up.
func TestDeliver_ConcurrentUIDs(t *testing.T) {
	f := newFixture(t)
	var committed [][]delivery.Delivered
	var mu sync.Mutex
	d := f.deliverer(t, delivery.Options{OnCommit: func(ds []delivery.Delivered) {
		mu.Lock()
		committed = append(committed, ds)
		mu.Unlock()
	}})
	const n, size = 50, 1000
	uids := make([]uint32, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			got, errs, err := d.Deliver(context.Background(), &delivery.Message{Raw: rawMessage(size),
				Recipients: []delivery.Recipient{f.rcpt("alice", "")}})
			if err != nil || errs != nil {
				t.Errorf("Deliver = %v, %v", errs, err)
				return
			}
			uids[i] = got[0].UID
		})
	}
	wg.Wait()

	slices.Sort(uids)
	for i, u := range uids {
		if u != uint32(i+1) {
			t.Fatalf("UIDs %v, want 1 to %d", uids, n)
		}
	}
	inbox := f.mailbox(t, "alice", "INBOX")
	if inbox.UIDNext != n+1 || inbox.HighestModseq != n+1 {
		t.Errorf("uid_next %d, highest_modseq %d; want %d, %d", inbox.UIDNext, inbox.HighestModseq,
			n+1, n+1)
	}
	msgs := f.db.Message.Query().Order(message.ByUID()).AllX(f.admin)
	for i, m := range msgs {
		// One UPDATE takes both, so MODSEQ follows UID order.
		if m.Modseq != int64(m.UID)+1 || (i > 0 && m.Modseq <= msgs[i-1].Modseq) {
			t.Errorf("UID %d has MODSEQ %d, want %d", m.UID, m.Modseq, m.UID+1)
		}
	}
	if used := f.account(t, "alice").UsedBytes; used != n*size {
		t.Errorf("used_bytes = %d, want %d", used, n*size)
	}

	st := d.Stats()
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for _, ds := range committed {
		total += len(ds)
	}
	if st.Batched != n || st.Failed != 0 || st.Pending != 0 || total != n ||
		uint64(len(committed)) != st.Commits {
		t.Errorf("stats %+v, OnCommit got %d copies in %d calls", st, total, len(committed))
	}
	t.Logf("%d commits, average batch %.1f, largest %d", st.Commits, st.AvgBatch(), st.MaxBatch)
}

// TestDeliver_FailingMessageAlone puts a message that breaks a constraint
// in one batch with two good ones: it is rolled back alone, with all its
// recipients, and the others commit.
func TestDeliver_FailingMessageAlone(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	// Break erin's INBOX: its next UID is already taken, so the insert of
	// the next message violates UNIQUE(mailbox_id, uid).
	first, _, err := f.deliverer(t, delivery.Options{}).Deliver(ctx, &delivery.Message{
		Raw: rawMessage(100), Recipients: []delivery.Recipient{f.rcpt("erin", "")}})
	check(t, err)
	_, err = f.db.ExecContext(f.admin, `UPDATE mailboxes SET uid_next = 1 WHERE id = ?`,
		string(first[0].MailboxID))
	check(t, err)

	// The committer waits for the batch to fill, so the three messages
	// share one transaction.
	d := f.deliverer(t, delivery.Options{MaxBatch: 3, MaxDelay: 10 * time.Second})

	msgs := []*delivery.Message{
		{Raw: rawMessage(100), Recipients: []delivery.Recipient{f.rcpt("alice", "")}},
		{Raw: rawMessage(100), Recipients: []delivery.Recipient{f.rcpt("bob", ""), f.rcpt("erin", "")}},
		{Raw: rawMessage(100), Recipients: []delivery.Recipient{f.rcpt("carol", "")}},
	}
	errs := make([]error, len(msgs))
	var wg sync.WaitGroup
	for i, m := range msgs {
		wg.Go(func() { _, _, errs[i] = d.Deliver(ctx, m) })
	}
	wg.Wait()

	if errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Fatalf("errors %v, want only the second message to fail", errs)
	}
	// The batch went first without savepoints, was rolled back when the
	// second message failed, and was stored again with them.
	if st := d.Stats(); st.Commits != 1 || st.MaxBatch != 3 || st.Failed != 1 || st.Retried != 1 {
		t.Errorf("stats %+v, want one commit of three, one failure, one retry", st)
	}
	for user, want := range map[string]int{"alice": 1, "bob": 0, "erin": 1, "carol": 1} {
		n := f.db.Message.Query().Where(message.AccountID(f.accounts[user].ID)).CountX(f.admin)
		if n != want {
			t.Errorf("%s has %d messages, want %d", user, n, want)
		}
	}
	if bob := f.account(t, "bob"); bob.UsedBytes != 0 {
		t.Errorf("bob's used_bytes = %d after the rollback, want 0", bob.UsedBytes)
	}
}

// TestDeliver_CommittedOnReturn opens a second, independent handle on the
// database file as soon as Deliver returns and finds the message there.
func TestDeliver_CommittedOnReturn(t *testing.T) {
	f := newFixture(t)
	d := f.deliverer(t, delivery.Options{})
	other, err := db.Open(f.admin, db.Options{Path: f.path})
	check(t, err)
	defer func() { _ = other.Close() }()
	for range 20 {
		got, _, err := d.Deliver(context.Background(), &delivery.Message{Raw: rawMessage(300),
			Recipients: []delivery.Recipient{f.rcpt("alice", ""), f.rcpt("carol", "")}})
		check(t, err)
		for _, dv := range got {
			if _, err := other.Message.Get(f.admin, dv.MessageID); err != nil {
				t.Fatalf("message %s not visible to another handle: %v", dv.MessageID, err)
			}
		}
	}
}

// TestDeliverer_CloseDrains closes a Deliverer whose committer waits to
// fill a batch: every queued message is stored before Close returns, and
// later messages are refused.
func TestDeliverer_CloseDrains(t *testing.T) {
	f := newFixture(t)
	d := delivery.New(f.db, store.New(), delivery.Options{MaxDelay: time.Hour})
	const n = 10
	results := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, _, results[i] = d.Deliver(context.Background(), &delivery.Message{Raw: rawMessage(100),
				Recipients: []delivery.Recipient{f.rcpt("alice", "")}})
		})
	}
	for d.Stats().Pending < n {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	check(t, d.Close())
	wg.Wait()
	if time.Since(start) > 5*time.Second {
		t.Errorf("Close took %v despite MaxDelay", time.Since(start))
	}
	for _, err := range results {
		if err != nil {
			t.Errorf("queued message: %v", err)
		}
	}
	if got := f.db.Message.Query().CountX(f.admin); got != n {
		t.Errorf("%d messages stored, want %d", got, n)
	}
	_, _, err := d.Deliver(context.Background(), &delivery.Message{Raw: rawMessage(100),
		Recipients: []delivery.Recipient{f.rcpt("alice", "")}})
	if !errors.Is(err, delivery.ErrClosed) {
		t.Errorf("Deliver after Close = %v, want ErrClosed", err)
	}
	check(t, d.Close())
}

// TestDeliver_Canceled gives up on messages: each is either refused and
// absent, or stored and reported, never stored while refused.
func TestDeliver_Canceled(t *testing.T) {
	f := newFixture(t)
	d := f.deliverer(t, delivery.Options{MaxDelay: 5 * time.Millisecond})
	for range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		got, _, err := d.Deliver(ctx, &delivery.Message{Raw: rawMessage(100),
			Recipients: []delivery.Recipient{f.rcpt("alice", "")}})
		switch {
		case errors.Is(err, context.Canceled):
		case err != nil:
			t.Fatal(err)
		default:
			if _, err := f.db.Message.Get(f.admin, got[0].MessageID); err != nil {
				t.Errorf("reported message %s missing: %v", got[0].MessageID, err)
			}
		}
	}
	refused := 20 - f.db.Message.Query().CountX(f.admin)
	st := d.Stats()
	if st.Pending != 0 || int(st.Batched)+refused != 20 {
		t.Errorf("stats %+v with %d refused", st, refused)
	}
}
