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
	raws := &rawLoader{ss: ss, ctx: ctx, rows: rows}
	for i, m := range rows {
		seq := sel.uids.Seq(imap.UID(m.UID))
		if seq == 0 {
			continue // not announced to the client yet
		}
		ok, err := matcher.Match(ss.searchMessage(seq, m, func() ([]byte, error) { return raws.load(i) }))
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

// searchBatch is how many stored messages one query reads for the
// content keys (TEXT, BODY, HEADER…): a query per message cost more than
// reading the bytes (bench/imapbench, docs/PERFORMANCE.md).
const searchBatch = 100

// rawLoader reads the stored messages of a SEARCH's rows a batch at a
// time. The first message the matcher asks for loads it and the next
// searchBatch-1 rows, so a message that a cheaper criterion rules out may
// be read for nothing, which costs less than a query of its own would
// for the ones it keeps; only one batch is held at a time.
type rawLoader struct {
	ss    *session
	ctx   context.Context
	rows  []*ent.Message
	start int      // row index of raws[0]
	raws  [][]byte // the loaded batch
}

func (l *rawLoader) load(i int) ([]byte, error) {
	if l.raws == nil || i < l.start || i >= l.start+len(l.raws) {
		end := min(i+searchBatch, len(l.rows))
		blobs := make([]*ent.Blob, 0, end-i)
		for _, m := range l.rows[i:end] {
			blobs = append(blobs, m.Edges.Blob)
		}
		raws, err := l.ss.srv.store.LoadMany(l.ctx, l.ss.srv.db.Client, blobs)
		if err != nil {
			return nil, err
		}
		l.start, l.raws = i, raws
	}
	return l.raws[i-l.start], nil
}

// searchMessage adapts a row to what the matcher reads; raw loads its
// stored message.
func (ss *session) searchMessage(seq uint32, m *ent.Message, raw func() ([]byte, error)) *search.Message {
	return &search.Message{
		Seq: seq, UID: imap.UID(m.UID),
		Seen: m.Seen, Answered: m.Answered, Flagged: m.Flagged, Deleted: m.Deleted, Draft: m.Draft,
		Keywords: m.Keywords, InternalDate: m.InternalDate, Size: m.Size, SentAt: m.SentAt,
		ModSeq: uint64(m.Modseq),
		Raw:    raw,
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
