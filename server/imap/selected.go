package imap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/lightr-mail/lightr/ent"
	entmbox "github.com/lightr-mail/lightr/ent/mailbox"
	"github.com/lightr-mail/lightr/ent/message"
	"github.com/lightr-mail/lightr/mail/mailbox"
	"github.com/lightr-mail/lightr/mail/notify"
)

// idlePoll is how often an IDLE session looks at its mailbox without a
// wake-up, to see changes made by another Lightr process on the same
// database, which the in-process hub does not hear of.
const idlePoll = 30 * time.Second

// selected is the state of the selected mailbox: what the client has been
// told about it.
type selected struct {
	mbox     *ent.Mailbox
	readOnly bool
	// uids are the messages the client knows, in sequence order. UIDs of
	// messages expunged elsewhere stay until the client can be told.
	uids uidList
	// modseq is the mailbox's HIGHEST-MODSEQ as of the last sync: every
	// change at or below it has been reported.
	modseq int64
	// own are mod-sequences of this session's own changes above modseq,
	// whose results the client got with the command that made them.
	own []int64
	// pending is set while messages expunged elsewhere wait to be
	// reported, which a command that forbids EXPUNGE responses postponed.
	pending bool
	// searchRes is the result saved by SEARCH ... RETURN (SAVE) (RFC 5182).
	searchRes imap.UIDSet
	sub       *notify.Subscription
}

func (sel *selected) close() {
	if sel.sub != nil {
		sel.sub.Close()
	}
}

// flagsOf returns the IMAP flags of a message row.
func flagsOf(m *ent.Message) []imap.Flag {
	fs := make([]imap.Flag, 0, 2+len(m.Keywords))
	add := func(on bool, f imap.Flag) {
		if on {
			fs = append(fs, f)
		}
	}
	add(m.Seen, imap.FlagSeen)
	add(m.Answered, imap.FlagAnswered)
	add(m.Flagged, imap.FlagFlagged)
	add(m.Deleted, imap.FlagDeleted)
	add(m.Draft, imap.FlagDraft)
	for _, k := range m.Keywords {
		fs = append(fs, imap.Flag(k))
	}
	return fs
}

var systemFlags = []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged,
	imap.FlagDeleted, imap.FlagDraft}

// Select implements imapserver.Session (SELECT and EXAMINE).
func (ss *session) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	if ss.sel != nil {
		ss.sel.close()
		ss.sel = nil
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	mb, err := ss.findMailbox(ctx, name)
	if err != nil {
		return nil, err
	}

	// Subscribe before reading, so that no change falls between the two.
	sel := &selected{mbox: mb, readOnly: options != nil && options.ReadOnly, modseq: mb.HighestModseq}
	sel.sub = ss.srv.hub.Subscribe(mb.ID)
	uids, err := ss.srv.db.Client.Message.Query().
		Where(message.MailboxID(mb.ID)).Order(ent.Asc(message.FieldUID)).
		Select(message.FieldUID).Ints(ctx)
	if err != nil {
		sel.close()
		ss.log.Error("select: load uids", "err", err)
		return nil, ss.serverBug()
	}
	for _, u := range uids {
		sel.uids.Append(imap.UID(u))
	}
	ss.sel = sel

	data := &imap.SelectData{
		Flags:          systemFlags,
		PermanentFlags: append(slices.Clone(systemFlags), imap.FlagWildcard),
		NumMessages:    sel.uids.Len(),
		UIDNext:        imap.UID(mb.UIDNext),
		UIDValidity:    mb.UIDValidity,
	}
	if sel.readOnly {
		data.PermanentFlags = nil
	}
	// Only the first unseen UID: without the limit the query read every
	// unseen row, a walk of a whole new mailbox on each SELECT.
	first, err := ss.srv.db.Client.Message.Query().
		Where(message.MailboxID(mb.ID), message.Seen(false)).
		Order(ent.Asc(message.FieldUID)).Limit(1).Select(message.FieldUID).Ints(ctx)
	if err == nil && len(first) > 0 {
		data.FirstUnseenSeqNum = sel.uids.Seq(imap.UID(first[0]))
	}
	ss.log.Debug("selected", "mailbox", mb.Name, "messages", data.NumMessages)
	return data, nil
}

// findMailbox returns the account's mailbox called name, or the IMAP
// error that says why there is none.
func (ss *session) findMailbox(ctx context.Context, name string) (*ent.Mailbox, error) {
	n, err := mailbox.NormalizeName(name)
	if err != nil {
		return nil, noSuchMailbox()
	}
	mb, err := mailbox.Find(ctx, ss.srv.db.Client, ss.account.ID, n)
	if errors.Is(err, mailbox.ErrNoMailbox) {
		return nil, noSuchMailbox()
	}
	if err != nil {
		ss.log.Error("find mailbox", "err", err)
		return nil, ss.serverBug()
	}
	return mb, nil
}

func noSuchMailbox() error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent,
		Text: "No such mailbox"}
}

// Unselect implements imapserver.Session (UNSELECT, and CLOSE after its
// expunge).
func (ss *session) Unselect() error {
	if ss.sel != nil {
		ss.sel.close()
		ss.sel = nil
	}
	return nil
}

// Poll implements imapserver.Session: it runs after every command (and
// for NOOP) and reports what changed in the selected mailbox.
func (ss *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if ss.sel == nil {
		return nil
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	return ss.sync(ctx, w, allowExpunge)
}

// Idle implements imapserver.Session: it reports changes as they happen,
// woken by the hub, until the client says DONE.
func (ss *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	ss.idling.Lock()
	defer ss.idling.Unlock()
	if ss.sel == nil {
		<-stop
		return nil
	}
	t := time.NewTicker(idlePoll)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return nil
		case <-ss.sel.sub.C:
		case <-t.C:
		}
		ctx, cancel := ss.ctx()
		err := ss.sync(ctx, w, true)
		cancel()
		if err != nil {
			return err
		}
		// No Read follows these updates to send them (coalesce.go).
		if err := flushConn(ss.conn.NetConn()); err != nil {
			return err
		}
	}
}

// sync tells the client what changed since the last sync: expunges (when
// allowed), new messages, and flags changed by others, in that order
// (RFC 9051 §7.5.1: EXPUNGE first keeps the numbers of later responses
// right).
func (ss *session) sync(ctx context.Context, w *imapserver.UpdateWriter, allowExpunge bool) error {
	sel := ss.sel
	c := ss.srv.db.Client
	mb, err := c.Mailbox.Query().Where(entmbox.ID(sel.mbox.ID)).
		Select(entmbox.FieldHighestModseq, entmbox.FieldUIDNext).Only(ctx)
	if ent.IsNotFound(err) {
		// Deleted under us: every message is gone.
		return ss.reportExpunged(w, allowExpunge, sel.uids.All())
	}
	if err != nil {
		return fmt.Errorf("imap: sync %s: %w", sel.mbox.ID, err)
	}
	reportable := sel.pending && allowExpunge // postponed expunges can go out now
	if mb.HighestModseq == sel.modseq && !reportable {
		return nil
	}
	changed, err := c.Message.Query().
		Where(message.MailboxID(sel.mbox.ID), message.ModseqGT(sel.modseq)).
		Order(ent.Asc(message.FieldUID)).
		Select(message.FieldUID, message.FieldModseq, message.FieldSeen, message.FieldAnswered,
			message.FieldFlagged, message.FieldDeleted, message.FieldDraft, message.FieldKeywords).
		All(ctx)
	if err != nil {
		return fmt.Errorf("imap: sync %s: %w", sel.mbox.ID, err)
	}
	gone, err := ss.expunged(ctx)
	if err != nil {
		return err
	}
	if err := ss.reportExpunged(w, allowExpunge, gone); err != nil {
		return err
	}
	sel.pending = len(gone) > 0 && !allowExpunge

	known := sel.uids.Max()
	added := false
	for _, m := range changed {
		if uid := imap.UID(m.UID); uid > known {
			sel.uids.Append(uid)
			added = true
		}
	}
	if added {
		if err := w.WriteNumMessages(sel.uids.Len()); err != nil {
			return err
		}
	}
	for _, m := range changed {
		uid := imap.UID(m.UID)
		if uid > known || slices.Contains(sel.own, m.Modseq) {
			continue
		}
		if seq := sel.uids.Seq(uid); seq != 0 {
			if err := w.WriteMessageFlags(seq, uid, flagsOf(m)); err != nil {
				return err
			}
		}
	}
	sel.modseq = mb.HighestModseq
	sel.own = slices.DeleteFunc(sel.own, func(m int64) bool { return m <= sel.modseq })
	return nil
}

// expunged returns the UIDs the client knows that are no longer in the
// mailbox. Counting first keeps the common case, nothing gone, at one
// cheap query, whatever the size of the mailbox.
func (ss *session) expunged(ctx context.Context) ([]imap.UID, error) {
	sel := ss.sel
	if sel.uids.Len() == 0 {
		return nil, nil
	}
	q := ss.srv.db.Client.Message.Query().
		Where(message.MailboxID(sel.mbox.ID), message.UIDLTE(uint32(sel.uids.Max())))
	n, err := q.Clone().Count(ctx)
	if err != nil {
		return nil, fmt.Errorf("imap: count %s: %w", sel.mbox.ID, err)
	}
	if uint32(n) == sel.uids.Len() {
		return nil, nil
	}
	present, err := q.Select(message.FieldUID).Ints(ctx)
	if err != nil {
		return nil, fmt.Errorf("imap: uids of %s: %w", sel.mbox.ID, err)
	}
	have := make(map[imap.UID]bool, len(present))
	for _, u := range present {
		have[imap.UID(u)] = true
	}
	var gone []imap.UID
	for _, u := range sel.uids.All() {
		if !have[u] {
			gone = append(gone, u)
		}
	}
	return gone, nil
}

// reportExpunged tells the client of gone messages, highest first so that
// each EXPUNGE leaves the numbers of the others unchanged. When EXPUNGE
// responses are not allowed now, the messages stay in the list, as the
// client still numbers them, until a later sync.
func (ss *session) reportExpunged(w *imapserver.UpdateWriter, allowExpunge bool, gone []imap.UID) error {
	if !allowExpunge {
		return nil
	}
	for i := len(gone) - 1; i >= 0; i-- {
		if seq := ss.sel.uids.Remove(gone[i]); seq != 0 {
			if err := w.WriteExpunge(seq); err != nil {
				return err
			}
		}
	}
	return nil
}
