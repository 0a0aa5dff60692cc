package imap

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/message"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/mailbox"
)

// target is a message of the selected mailbox that a command acts on.
type target struct {
	id  pulid.ID
	uid imap.UID
}

// targets returns the messages among uids (ascending) that still exist,
// in UID order; those expunged elsewhere are left out.
func (ss *session) targets(ctx context.Context, uids []imap.UID, where ...func(*ent.MessageQuery)) ([]target, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	q := ss.srv.db.Client.Message.Query().
		Where(message.MailboxID(ss.sel.mbox.ID),
			message.UIDGTE(uint32(uids[0])), message.UIDLTE(uint32(uids[len(uids)-1]))).
		Order(ent.Asc(message.FieldUID))
	for _, fn := range where {
		fn(q)
	}
	rows, err := q.Select(message.FieldID, message.FieldUID).All(ctx)
	if err != nil {
		ss.log.Error("find messages", "err", err)
		return nil, ss.serverBug()
	}
	rows = keepNamed(rows, uids)
	out := make([]target, len(rows))
	for i, m := range rows {
		out[i] = target{m.ID, imap.UID(m.UID)}
	}
	return out, nil
}

// keepNamed keeps the rows whose UID is among uids, both in ascending UID
// order: a query by UID range also returns the UIDs between that the set
// does not name.
func keepNamed(rows []*ent.Message, uids []imap.UID) []*ent.Message {
	// Both are in ascending UID order: walk them together.
	out := rows[:0]
	i := 0
	for _, m := range rows {
		for i < len(uids) && uint32(uids[i]) < m.UID {
			i++
		}
		if i == len(uids) {
			break
		}
		if uint32(uids[i]) == m.UID {
			out = append(out, m)
		}
	}
	return out
}

// chunks calls fn with the targets in groups of at most mailbox.MaxIDs,
// the most one call of mail/mailbox takes.
func chunks(ts []target, fn func([]target) error) error {
	for start := 0; start < len(ts); start += mailbox.MaxIDs {
		if err := fn(ts[start:min(start+mailbox.MaxIDs, len(ts))]); err != nil {
			return err
		}
	}
	return nil
}

// maxRaceRetries bounds how often a command reads its targets again
// after another session or the API removed some of them meanwhile.
const maxRaceRetries = 3

// retryGone runs op on ts. mail/mailbox fails a whole call as not found
// when one of its messages is gone, which happens when another session
// or the API expunges between this command's read of its targets and its
// change; the messages that remain are then tried again, as if the gone
// ones had never been named (RFC 9051 §7.5.1 lets a server skip them).
func (ss *session) retryGone(ctx context.Context, ts []target, op func([]target) error) error {
	for attempt := 0; ; attempt++ {
		err := op(ts)
		var nf *ent.NotFoundError
		if err == nil || !errors.As(err, &nf) || attempt == maxRaceRetries {
			return err
		}
		ids, qerr := ss.srv.db.Client.Message.Query().
			Where(message.IDIn(idsOf(ts)...)).IDs(ctx)
		if qerr != nil {
			return qerr
		}
		ts = slices.DeleteFunc(ts, func(t target) bool { return !slices.Contains(ids, t.id) })
		if len(ts) == 0 {
			return nil
		}
	}
}

func idsOf(ts []target) []pulid.ID {
	out := make([]pulid.ID, len(ts))
	for i, t := range ts {
		out[i] = t.id
	}
	return out
}

// setFlags changes flags through mail/mailbox and remembers the
// mod-sequences it made, so that the next sync does not report this
// session's own change back to it.
func (ss *session) setFlags(ctx context.Context, ids []pulid.ID, op mailbox.FlagOp,
	f mailbox.FlagSet) ([]*ent.Message, error) {
	var out []*ent.Message
	for start := 0; start < len(ids); start += mailbox.MaxIDs {
		chunk := make([]target, 0, mailbox.MaxIDs)
		for _, id := range ids[start:min(start+mailbox.MaxIDs, len(ids))] {
			chunk = append(chunk, target{id: id})
		}
		var ms []*ent.Message
		err := ss.retryGone(ctx, chunk, func(ts []target) (err error) {
			ms, err = mailbox.SetFlags(ctx, ss.srv.db.Client, ss.srv.hub, idsOf(ts), op, f)
			return err
		})
		if err != nil {
			return nil, ss.mailboxError(err)
		}
		for _, m := range ms {
			if m.Modseq > ss.sel.modseq {
				ss.sel.own = append(ss.sel.own, m.Modseq)
			}
		}
		out = append(out, ms...)
	}
	return out, nil
}

// flagSetOf turns IMAP flags into mail/mailbox's. \Recent cannot be set
// by a client (RFC 3501 §2.3.2) and is ignored.
func flagSetOf(flags []imap.Flag) mailbox.FlagSet {
	var f mailbox.FlagSet
	for _, fl := range flags {
		switch strings.ToLower(string(fl)) {
		case `\seen`:
			f.Seen = true
		case `\answered`:
			f.Answered = true
		case `\flagged`:
			f.Flagged = true
		case `\deleted`:
			f.Deleted = true
		case `\draft`:
			f.Draft = true
		case `\recent`:
		default:
			f.Keywords = append(f.Keywords, string(fl))
		}
	}
	return f
}

func readOnly() error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
		Text: "Mailbox is read-only (EXAMINE)"}
}

// Store implements imapserver.Session (STORE and UID STORE).
func (ss *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags,
	_ *imap.StoreOptions) error {
	if ss.sel.readOnly {
		return readOnly()
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	ts, err := ss.targets(ctx, ss.sel.resolve(numSet))
	if err != nil {
		return err
	}
	op := map[imap.StoreFlagsOp]mailbox.FlagOp{imap.StoreFlagsSet: mailbox.FlagsReplace,
		imap.StoreFlagsAdd: mailbox.FlagsAdd, imap.StoreFlagsDel: mailbox.FlagsRemove}[flags.Op]
	ms, err := ss.setFlags(ctx, idsOf(ts), op, flagSetOf(flags.Flags))
	if err != nil {
		return err
	}
	if flags.Silent {
		return nil
	}
	for _, m := range ms {
		if seq := ss.sel.uids.Seq(imap.UID(m.UID)); seq != 0 {
			rw := w.CreateMessage(seq)
			rw.WriteUID(imap.UID(m.UID))
			rw.WriteFlags(flagsOf(m))
			if err := rw.Close(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Expunge implements imapserver.Session (EXPUNGE, UID EXPUNGE, and CLOSE):
// the messages marked \Deleted go for good, through the same deletion as
// the API's (quota and raw bytes released).
func (ss *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	if ss.sel.readOnly {
		return readOnly()
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	all := ss.sel.uids.All()
	if uids != nil {
		all = ss.sel.resolve(*uids)
	}
	ts, err := ss.targets(ctx, all, func(q *ent.MessageQuery) { q.Where(message.Deleted(true)) })
	if err != nil {
		return err
	}
	return chunks(ts, func(ts []target) error {
		err := ss.retryGone(ctx, ts, func(left []target) error {
			ts = left
			_, err := mailbox.Delete(ctx, ss.srv.db.Client, ss.srv.store, ss.srv.hub, idsOf(left))
			return err
		})
		if err != nil {
			return ss.mailboxError(err)
		}
		// Those another session took are reported by the next sync.
		return ss.expungeKnown(ts, w.WriteExpunge)
	})
}

// expungeKnown takes ts out of the client's view, highest first, telling
// it with write.
func (ss *session) expungeKnown(ts []target, write func(uint32) error) error {
	for i := len(ts) - 1; i >= 0; i-- {
		if seq := ss.sel.uids.Remove(ts[i].uid); seq != 0 {
			if err := write(seq); err != nil {
				return err
			}
		}
	}
	return nil
}

// destination returns the mailbox a COPY, MOVE or APPEND names; a
// missing one is NO [TRYCREATE] (RFC 9051 §6.4.7).
func (ss *session) destination(ctx context.Context, name string) (*ent.Mailbox, error) {
	mb, err := ss.findMailbox(ctx, name)
	if err != nil {
		if e, ok := err.(*imap.Error); ok && e.Code == imap.ResponseCodeNonExistent { //nolint:errorlint // ours
			return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate,
				Text: "No such mailbox"}
		}
		return nil, err
	}
	return mb, nil
}

// Copy implements imapserver.Session (COPY and UID COPY, with UIDPLUS's
// COPYUID in the answer).
func (ss *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	ctx, cancel := ss.ctx()
	defer cancel()
	mb, err := ss.destination(ctx, dest)
	if err != nil {
		return nil, err
	}
	ts, err := ss.targets(ctx, ss.sel.resolve(numSet))
	if err != nil {
		return nil, err
	}
	data := &imap.CopyData{UIDValidity: mb.UIDValidity}
	err = chunks(ts, func(ts []target) error {
		var copied []mailbox.Copied
		err := ss.retryGone(ctx, ts, func(ts []target) (err error) {
			copied, err = mailbox.Copy(ctx, ss.srv.db.Client, ss.srv.hub, idsOf(ts), mb.ID)
			return err
		})
		if err != nil {
			return ss.mailboxError(err)
		}
		for _, c := range copied {
			data.SourceUIDs.AddNum(imap.UID(c.Source.UID))
			data.DestUIDs.AddNum(imap.UID(c.Copy.UID))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(data.SourceUIDs) == 0 {
		// Nothing copied (no such UID, or expunged meanwhile): no COPYUID
		// (RFC 4315 §3), which go-imap could not encode anyway; it broke
		// the tagged line off mid-response.
		return nil, nil
	}
	return data, nil
}

// Move implements imapserver.SessionMove (MOVE and UID MOVE, RFC 6851):
// COPYUID first, then the EXPUNGEs.
func (ss *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	if ss.sel.readOnly {
		return readOnly()
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	mb, err := ss.destination(ctx, dest)
	if err != nil {
		return err
	}
	ts, err := ss.targets(ctx, ss.sel.resolve(numSet))
	if err != nil {
		return err
	}
	if mb.ID == ss.sel.mbox.ID {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
			Text: "Source and destination are the same mailbox"}
	}
	return chunks(ts, func(ts []target) error {
		var moved []*ent.Message
		err := ss.retryGone(ctx, ts, func(left []target) (err error) {
			ts = left
			moved, err = mailbox.Move(ctx, ss.srv.db.Client, ss.srv.hub, idsOf(left), mb.ID)
			return err
		})
		if err != nil {
			return ss.mailboxError(err)
		}
		if len(moved) == 0 {
			return nil // all expunged meanwhile: no COPYUID, as in Copy
		}
		data := &imap.CopyData{UIDValidity: mb.UIDValidity}
		for i, m := range moved { // in the order of ts, so source UIDs pair up
			data.SourceUIDs.AddNum(ts[i].uid)
			data.DestUIDs.AddNum(imap.UID(m.UID))
		}
		if err := w.WriteCopyData(data); err != nil {
			return err
		}
		return ss.expungeKnown(ts, w.WriteExpunge)
	})
}
