package imap

import (
	"context"
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/message"
	"github.com/lightr-mail/lightr/mail/mailbox"
	parsed "github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/server/imap/render"
)

// fetchChunk is how many messages one query of FETCH reads, which bounds
// the memory of a FETCH 1:* on a large mailbox.
const fetchChunk = 500

// Fetch implements imapserver.Session (FETCH and UID FETCH). Everything
// but the body sections comes from the message row; sections and BINARY
// slice the stored raw message at the offsets delivery recorded.
func (ss *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	uids := ss.sel.resolve(numSet)
	if len(uids) == 0 {
		return nil
	}
	ctx, cancel := ss.ctx()
	defer cancel()

	// RFC 9051 §6.4.5: BODY[] without .PEEK sets \Seen; the changed flags
	// go out with the data.
	markSeen := !ss.sel.readOnly && setsSeen(options)
	if markSeen {
		if err := ss.markSeen(ctx, uids); err != nil {
			return err
		}
	}
	if needsRaw(options) {
		// Sections: one chunk at a time, each message's blob with it.
		for start := 0; start < len(uids); start += fetchChunk {
			chunk := uids[start:min(start+fetchChunk, len(uids))]
			if err := ss.fetchChunk(ctx, w, ss.fetchRows(ctx, chunk, options, false), options, markSeen); err != nil {
				return err
			}
		}
		return nil
	}
	return ss.fetchPipelined(ctx, w, uids, options, markSeen)
}

// prepared is a chunk of FETCH rows, with what the shared cache held of
// each row's decoded parts when they were read.
type prepared struct {
	rows  []*ent.Message
	parts []cachedParts
	cold  bool // most rows lacked their parts (the first FETCH after a restart)
	err   error
}

// fetchPipelined writes the FETCH responses of uids chunk by chunk, and
// reads the next chunk on another goroutine while this one is decoded and
// encoded: on two cores, a FETCH 1:* of a large mailbox then takes about
// the longer of the two instead of their sum. When most of a chunk's
// parts were not in the cache (the first FETCH after a restart), the
// next chunk's rows are read with their envelope and structure columns
// in the same query.
func (ss *session) fetchPipelined(ctx context.Context, w *imapserver.FetchWriter, uids []imap.UID,
	o *imap.FetchOptions, markedSeen bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prepare := func(chunk []imap.UID, wide bool) <-chan prepared {
		ch := make(chan prepared, 1)
		go func() {
			p := ss.fetchRows(ctx, chunk, o, wide)
			if p.cold {
				// Decoding is then the larger part. Encoding takes the
				// session's goroutine about as long as reading takes
				// this one, so this one decodes two rows of three and
				// both finish about together.
				for i, m := range p.rows {
					if i%3 != 2 {
						p.parts[i] = ss.partsOf(m, p.parts[i], nil, o)
					}
				}
			}
			ch <- p
		}()
		return ch
	}
	next := prepare(uids[:min(fetchChunk, len(uids))], false)
	for start := 0; start < len(uids); start += fetchChunk {
		p := <-next
		if end := start + fetchChunk; end < len(uids) {
			next = prepare(uids[end:min(end+fetchChunk, len(uids))], p.cold)
		} else {
			next = nil
		}
		if err := ss.fetchChunk(ctx, w, p, o, markedSeen); err != nil {
			if next != nil {
				cancel()
				<-next
			}
			return err
		}
	}
	return nil
}

// fetchChunk writes one prepared chunk, loading each message's stored
// bytes when o asks for sections.
func (ss *session) fetchChunk(ctx context.Context, w *imapserver.FetchWriter, p prepared,
	o *imap.FetchOptions, markedSeen bool) error {
	if p.err != nil {
		ss.log.Error("fetch", "err", p.err)
		return ss.serverBug()
	}
	for i, m := range p.rows {
		seq := ss.sel.uids.Seq(imap.UID(m.UID))
		if seq == 0 {
			continue
		}
		var raw []byte
		if needsRaw(o) {
			var err error
			if raw, err = ss.srv.store.Load(ctx, ss.srv.db.Client, m.Edges.Blob); err != nil {
				ss.log.Error("fetch: load message", "msg_id", m.ID, "err", err)
				return ss.serverBug()
			}
		}
		if err := ss.fetchOne(w, seq, m, ss.partsOf(m, p.parts[i], raw, o), raw, o, markedSeen); err != nil {
			return err
		}
	}
	return nil
}

// needsRaw reports whether o asks for items that slice the stored message.
func needsRaw(o *imap.FetchOptions) bool {
	return len(o.BodySection) > 0 || len(o.BinarySection) > 0 || len(o.BinarySectionSize) > 0
}

func setsSeen(o *imap.FetchOptions) bool {
	for _, s := range o.BodySection {
		if !s.Peek {
			return true
		}
	}
	for _, s := range o.BinarySection {
		if !s.Peek {
			return true
		}
	}
	return false
}

// markSeen sets \Seen on the messages among uids (ascending) that lack it.
func (ss *session) markSeen(ctx context.Context, uids []imap.UID) error {
	ts, err := ss.targets(ctx, uids, func(q *ent.MessageQuery) { q.Where(message.Seen(false)) })
	if err != nil || len(ts) == 0 {
		return err
	}
	_, err = ss.setFlags(ctx, idsOf(ts), mailbox.FlagsAdd, mailbox.FlagSet{Seen: true})
	return err
}

// fetchRows reads the rows of uids (ascending) with the columns o needs,
// and the envelope and structure columns with them when wide or for the
// rows whose decoded parts the shared cache lacks.
func (ss *session) fetchRows(ctx context.Context, uids []imap.UID, o *imap.FetchOptions, wide bool) prepared {
	first, last := uint32(uids[0]), uint32(uids[len(uids)-1])
	var rows []*ent.Message
	var err error
	if needsRaw(o) {
		rows, err = ss.rowsWithBlobs(ctx, first, last, o)
	} else {
		// Parsing the stored time was a tenth of a FETCH that does not
		// ask for it, so it is read only when asked for.
		rows, err = ss.readRows(ctx, first, last, rowColumns{
			date: o.InternalDate, size: o.RFC822Size, parts: wide && (o.Envelope || o.BodyStructure != nil),
		})
	}
	if err != nil {
		return prepared{err: fmt.Errorf("imap: fetch rows: %w", err)}
	}
	p := prepared{rows: keepNamed(rows, uids)}
	p.parts = make([]cachedParts, len(p.rows))
	var unread []*ent.Message
	misses := 0
	for i, m := range p.rows {
		p.parts[i] = ss.srv.parts.get(m.BlobID)
		if p.parts[i].lacks(o) {
			misses++
			if m.Envelope == nil && m.BodyStructure == nil {
				unread = append(unread, m)
			}
		}
	}
	p.cold = misses*2 > len(p.rows)
	if len(unread) > 0 {
		if err := ss.readParts(ctx, unread); err != nil {
			return prepared{err: fmt.Errorf("imap: fetch structures: %w", err)}
		}
	}
	return p
}

// rowsWithBlobs is readRows through Ent, with each row's blob, for the
// FETCH items that slice the stored message.
func (ss *session) rowsWithBlobs(ctx context.Context, first, last uint32,
	o *imap.FetchOptions) ([]*ent.Message, error) {
	cols := append([]string(nil), fetchColumns...)
	if o.InternalDate {
		cols = append(cols, message.FieldInternalDate)
	}
	if o.RFC822Size {
		cols = append(cols, message.FieldSize)
	}
	// The envelope and structure columns are the bulk of a row, and the
	// shared cache usually holds them decoded: fetchRows reads them only
	// for the rows it lacks.
	return ss.srv.db.Client.Message.Query().
		Where(message.MailboxID(ss.sel.mbox.ID), message.UIDGTE(first), message.UIDLTE(last)).
		Order(ent.Asc(message.FieldUID)).Select(cols...).WithBlob().All(ctx)
}

// lacks reports whether c misses a decoded part that o asks for: the
// envelope, the body structure, or the structure the sections need.
func (c cachedParts) lacks(o *imap.FetchOptions) bool {
	return o.Envelope && c.env == nil || c.root == nil && (needsRaw(o) || o.BodyStructure != nil && c.bs == nil)
}

// partsOf returns c, what the shared cache (partcache.go) held of m's
// decoded parts, completed with those o needs, decoded now and cached.
// raw is the stored message when it has been loaded.
func (ss *session) partsOf(m *ent.Message, c cachedParts, raw []byte, o *imap.FetchOptions) cachedParts {
	if !c.lacks(o) {
		return c
	}
	cost := 4*(len(m.Envelope)+len(m.BodyStructure)) + 512
	if c.root == nil && (needsRaw(o) || o.BodyStructure != nil && c.bs == nil) {
		c.root = ss.structure(m, raw)
		ss.srv.parts.put(m.BlobID, cost, cachedParts{root: c.root})
	}
	if o.Envelope && c.env == nil {
		c.env = ss.envelope(m, raw)
		ss.srv.parts.put(m.BlobID, cost, cachedParts{env: c.env})
	}
	if o.BodyStructure != nil && c.bs == nil {
		c.bs = render.BodyStructure(c.root, true)
		ss.srv.parts.put(m.BlobID, cost, cachedParts{bs: c.bs})
	}
	return c
}

// fetchOne writes the FETCH response of message seq, whose decoded parts
// partsOf returned; raw is the stored message when o asks for sections.
func (ss *session) fetchOne(w *imapserver.FetchWriter, seq uint32, m *ent.Message, parts cachedParts,
	raw []byte, o *imap.FetchOptions, markedSeen bool) error {
	rw := w.CreateMessage(seq)
	rw.WriteUID(imap.UID(m.UID))
	if o.Flags || markedSeen {
		rw.WriteFlags(flagsOf(m))
	}
	if o.InternalDate {
		rw.WriteInternalDate(m.InternalDate)
	}
	if o.RFC822Size {
		rw.WriteRFC822Size(m.Size)
	}
	if o.Envelope {
		rw.WriteEnvelope(parts.env)
	}
	if o.BodyStructure != nil {
		rw.WriteBodyStructure(parts.bs)
	}
	if err := ss.writeSections(rw, raw, parts.root, o); err != nil {
		return err
	}
	return rw.Close()
}

// writeSections writes the BODY[…], BINARY[…] and BINARY.SIZE[…] items.
func (ss *session) writeSections(rw *imapserver.FetchResponseWriter, raw []byte, root *parsed.Part,
	o *imap.FetchOptions) error {
	for _, s := range o.BodySection {
		b, err := render.Section(raw, root, s)
		if err != nil {
			return ss.serverBug()
		}
		if err := writeLiteral(rw.WriteBodySection(s, int64(len(b))), b); err != nil {
			return err
		}
	}
	for _, s := range o.BinarySection {
		b, err := render.Binary(raw, root, s.Part, s.Partial)
		if errors.Is(err, render.ErrUnknownEncoding) {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnknownCTE,
				Text: "Cannot decode the part's content transfer encoding"}
		}
		if err != nil {
			return ss.serverBug()
		}
		if err := writeLiteral(rw.WriteBinarySection(s, int64(len(b))), b); err != nil {
			return err
		}
	}
	for _, s := range o.BinarySectionSize {
		n, err := render.BinarySize(raw, root, s.Part)
		if errors.Is(err, render.ErrUnknownEncoding) {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnknownCTE,
				Text: "Cannot decode the part's content transfer encoding"}
		}
		if err != nil {
			return ss.serverBug()
		}
		rw.WriteBinarySectionSize(s, n)
	}
	return nil
}

func writeLiteral(wc interface {
	Write([]byte) (int, error)
	Close() error
}, b []byte) error {
	if _, err := wc.Write(b); err != nil {
		return err
	}
	return wc.Close()
}

// structure returns the cached body structure of m, or parses raw when
// the row has none (a message stored without parsing).
func (ss *session) structure(m *ent.Message, raw []byte) *parsed.Part {
	if len(m.BodyStructure) > 0 {
		if p, err := parsed.DecodeStructure(m.BodyStructure); err == nil {
			return p
		}
	}
	if raw == nil {
		if b, err := ss.loadRaw(m); err == nil {
			raw = b
		}
	}
	return parsed.Parse(raw, parsed.Limits{}).Root
}

// envelope returns the cached envelope of m, or parses the message.
func (ss *session) envelope(m *ent.Message, raw []byte) *imap.Envelope {
	if len(m.Envelope) > 0 {
		if e, err := parsed.DecodeEnvelope(m.Envelope); err == nil {
			return render.Envelope(e)
		}
	}
	if raw == nil {
		if b, err := ss.loadRaw(m); err == nil {
			raw = b
		}
	}
	return render.Envelope(parsed.Parse(raw, parsed.Limits{}).Env)
}

// loadRaw reads the raw message of m when the row was read without its
// blob.
func (ss *session) loadRaw(m *ent.Message) ([]byte, error) {
	ctx, cancel := ss.ctx()
	defer cancel()
	b, err := ss.srv.db.Client.Blob.Get(ctx, m.BlobID)
	if err != nil {
		return nil, err
	}
	return ss.srv.store.Load(ctx, ss.srv.db.Client, b)
}
