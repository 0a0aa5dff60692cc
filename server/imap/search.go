package imap

import (
	"context"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/message"
	"github.com/lightr-mail/lightr/server/imap/search"
)

// Search implements imapserver.Session (SEARCH and UID SEARCH, with
// ESEARCH's RETURN options and SEARCHRES's SAVE). Flags, dates, sizes and
// numbers are matched on the message rows; only HEADER, BODY, TEXT and
// the address and subject keys read the stored messages, and then only
// those that the cheaper criteria have not ruled out already.
func (ss *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria,
	options *imap.SearchOptions) (*imap.SearchData, error) {
	ctx, cancel := ss.ctx()
	defer cancel()
	sel := ss.sel
	need := search.Needs(criteria)
	cols := []string{message.FieldUID, message.FieldSeen, message.FieldAnswered, message.FieldFlagged,
		message.FieldDeleted, message.FieldDraft, message.FieldKeywords, message.FieldInternalDate,
		message.FieldSize, message.FieldSentAt, message.FieldModseq, message.FieldBlobID}
	q := ss.srv.db.Client.Message.Query().Where(message.MailboxID(sel.mbox.ID)).
		Order(ent.Asc(message.FieldUID)).Select(cols...)
	if need > search.NeedRow {
		q.WithBlob()
	}
	rows, err := q.All(ctx)
	if err != nil {
		ss.log.Error("search", "err", err)
		return nil, ss.serverBug()
	}

	matcher := search.Compile(criteria, search.Bounds{
		MaxSeq: sel.uids.Len(), MaxUID: sel.uids.Max(), Saved: sel.searchRes,
	})
	var hits []imap.UID
	for _, m := range rows {
		seq := sel.uids.Seq(imap.UID(m.UID))
		if seq == 0 {
			continue // not announced to the client yet
		}
		ok, err := matcher.Match(ss.searchMessage(ctx, seq, m))
		if err != nil {
			ss.log.Error("search: match", "msg_id", m.ID, "err", err)
			return nil, ss.serverBug()
		}
		if ok {
			hits = append(hits, imap.UID(m.UID))
		}
	}
	if options != nil && options.ReturnSave {
		sel.searchRes = uidSetOf(hits)
	}
	return ss.searchData(kind, hits), nil
}

// searchMessage adapts a row to what the matcher reads.
func (ss *session) searchMessage(ctx context.Context, seq uint32, m *ent.Message) *search.Message {
	return &search.Message{
		Seq: seq, UID: imap.UID(m.UID),
		Seen: m.Seen, Answered: m.Answered, Flagged: m.Flagged, Deleted: m.Deleted, Draft: m.Draft,
		Keywords: m.Keywords, InternalDate: m.InternalDate, Size: m.Size, SentAt: m.SentAt,
		ModSeq: uint64(m.Modseq),
		Raw: func() ([]byte, error) {
			return ss.srv.store.Load(ctx, ss.srv.db.Client, m.Edges.Blob)
		},
	}
}

// searchData builds the answer from the matching UIDs (ascending), in
// sequence numbers or UIDs as the command asked.
func (ss *session) searchData(kind imapserver.NumKind, hits []imap.UID) *imap.SearchData {
	data := &imap.SearchData{Count: uint32(len(hits))}
	if kind == imapserver.NumKindUID {
		data.All = uidSetOf(hits)
		if len(hits) > 0 {
			data.Min, data.Max = uint32(hits[0]), uint32(hits[len(hits)-1])
		}
		return data
	}
	seqs := ss.sel.seqSetOf(hits)
	data.All = seqs
	if len(hits) > 0 {
		data.Min, data.Max = ss.sel.uids.Seq(hits[0]), ss.sel.uids.Seq(hits[len(hits)-1])
	}
	return data
}
