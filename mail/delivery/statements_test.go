package delivery_test

import (
	"context"
	stdsql "database/sql"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/mail/delivery"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/db"
)

// countingDriver counts the statements of the transactions it starts.
type countingDriver struct {
	*db.Driver
	n *atomic.Int64
}

// Tx starts a transaction whose statements are counted.
func (d countingDriver) Tx(ctx context.Context) (dialect.Tx, error) {
	tx, err := d.Driver.Tx(ctx)
	return countingTx{tx, d.n}, err
}

// countingTx is a transaction that counts its statements.
type countingTx struct {
	dialect.Tx
	n *atomic.Int64
}

type rawTx interface {
	ExecContext(context.Context, string, ...any) (stdsql.Result, error)
	QueryContext(context.Context, string, ...any) (*stdsql.Rows, error)
}

func (t countingTx) Exec(ctx context.Context, q string, args, v any) error {
	t.n.Add(1)
	return t.Tx.Exec(ctx, q, args, v)
}

func (t countingTx) Query(ctx context.Context, q string, args, v any) error {
	t.n.Add(1)
	return t.Tx.Query(ctx, q, args, v)
}

func (t countingTx) ExecContext(ctx context.Context, q string, args ...any) (stdsql.Result, error) {
	t.n.Add(1)
	return t.Tx.(rawTx).ExecContext(ctx, q, args...)
}

func (t countingTx) QueryContext(ctx context.Context, q string, args ...any) (*stdsql.Rows, error) {
	t.n.Add(1)
	return t.Tx.(rawTx).QueryContext(ctx, q, args...)
}

// TestDeliver_Statements counts the statements one message costs inside
// the transaction (BEGIN and COMMIT are not counted), so that a change
// that adds some is a deliberate one.
func TestDeliver_Statements(t *testing.T) {
	f := newFixture(t)
	var n atomic.Int64
	counted := &db.DB{Client: ent.NewClient(ent.Driver(countingDriver{f.db.Driver, &n})),
		Driver: f.db.Driver}
	d := delivery.New(counted, store.New(), delivery.Options{})
	defer func() { _ = d.Close() }()

	for _, tc := range []struct {
		name  string
		users []string
		want  int64
	}{
		// Per organization: the blob's SELECT, the bytes' INSERT, the
		// tenant hook's check, the blob's INSERT; per copy: the quota
		// UPDATE, the UID UPDATE … RETURNING, the message and event
		// INSERTs. A message alone in its transaction has no savepoint.
		{"one recipient", []string{"alice"}, 4 + 4},
		{"two in one organization", []string{"alice", "bob"}, 4 + 2*4},
		{"two organizations", []string{"alice", "carol"}, 2*4 + 2*4},
	} {
		var rcpts []delivery.Recipient
		for _, u := range tc.users {
			rcpts = append(rcpts, f.rcpt(u, ""))
		}
		n.Store(0)
		if _, _, err := d.Deliver(context.Background(),
			&delivery.Message{Raw: rawMessage(500), Recipients: rcpts}); err != nil {
			t.Fatal(err)
		}
		if got := n.Load(); got != tc.want {
			t.Errorf("%s: %d statements, want %d", tc.name, got, tc.want)
		}
	}
}

// TestDeliver_StatementsInBatch checks that a batch in which no message
// fails is written without savepoints: two messages cost what each costs
// alone.
func TestDeliver_StatementsInBatch(t *testing.T) {
	f := newFixture(t)
	var n atomic.Int64
	counted := &db.DB{Client: ent.NewClient(ent.Driver(countingDriver{f.db.Driver, &n})),
		Driver: f.db.Driver}
	d := delivery.New(counted, store.New(), delivery.Options{MaxBatch: 2, MaxDelay: 10 * time.Second})
	defer func() { _ = d.Close() }()

	var wg sync.WaitGroup
	for _, u := range []string{"alice", "bob"} {
		wg.Go(func() {
			_, _, err := d.Deliver(context.Background(), &delivery.Message{Raw: rawMessage(500),
				Recipients: []delivery.Recipient{f.rcpt(u, "")}})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	st := d.Stats()
	if got, want := n.Load(), int64(2*(4+4)); got != want || st.Commits != 1 || st.Retried != 0 {
		t.Errorf("%d statements in %d commits (%d retried), want %d in 1", got, st.Commits,
			st.Retried, want)
	}
}
