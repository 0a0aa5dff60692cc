package imap

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"entgo.io/ent/dialect/sql"
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/lightr-mail/lightr/ent"
	entmbox "github.com/lightr-mail/lightr/ent/mailbox"
	"github.com/lightr-mail/lightr/ent/message"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/mailbox"
)

// specialUse maps the stored special-use attribute to IMAP's (RFC 6154).
var specialUse = map[entmbox.SpecialUse]imap.MailboxAttr{
	entmbox.SpecialUseAll: imap.MailboxAttrAll, entmbox.SpecialUseArchive: imap.MailboxAttrArchive,
	entmbox.SpecialUseDrafts: imap.MailboxAttrDrafts, entmbox.SpecialUseFlagged: imap.MailboxAttrFlagged,
	entmbox.SpecialUseJunk: imap.MailboxAttrJunk, entmbox.SpecialUseSent: imap.MailboxAttrSent,
	entmbox.SpecialUseTrash: imap.MailboxAttrTrash,
}

// mailboxError turns an error of mail/mailbox into the IMAP answer.
func (ss *session) mailboxError(err error) error {
	no := func(code imap.ResponseCode, text string) error {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}
	}
	switch {
	case errors.Is(err, mailbox.ErrExists):
		return no(imap.ResponseCodeAlreadyExists, "Mailbox exists already")
	case errors.Is(err, mailbox.ErrNoMailbox):
		return noSuchMailbox()
	case errors.Is(err, mailbox.ErrHasChildren):
		return no(imap.ResponseCodeHasChildren, "Mailbox has children, delete them first")
	case errors.Is(err, mailbox.ErrInboxFixed):
		return no(imap.ResponseCodeCannot, "INBOX cannot be deleted")
	case errors.Is(err, mailbox.ErrBadName):
		return no(imap.ResponseCodeCannot, "Invalid mailbox name")
	case errors.Is(err, mailbox.ErrOverQuota):
		return no(imap.ResponseCodeOverQuota, "Over quota")
	case errors.Is(err, mailbox.ErrUIDsExhausted):
		return no(imap.ResponseCodeLimit, "Mailbox has no UIDs left")
	}
	// The client's own input, such as a keyword that is not an atom or
	// a system flag IMAP does not define: its mistake, not a server bug.
	var inputErr *directory.InputError
	if errors.As(err, &inputErr) {
		return no(imap.ResponseCodeCannot, truncate(inputErr.Msg, 100))
	}
	ss.log.Error("mailbox operation failed", "err", err)
	return ss.serverBug()
}

// Create implements imapserver.Session (CREATE, RFC 9051 §6.3.4, with
// CREATE-SPECIAL-USE, RFC 6154 §3).
func (ss *session) Create(name string, options *imap.CreateOptions) error {
	var use entmbox.SpecialUse
	if options != nil && len(options.SpecialUse) > 0 {
		if len(options.SpecialUse) > 1 {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCode("USEATTR"),
				Text: "One special-use attribute per mailbox"}
		}
		for u, attr := range specialUse {
			if strings.EqualFold(string(attr), string(options.SpecialUse[0])) {
				use = u
			}
		}
		if use == "" {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCode("USEATTR"),
				Text: "Unknown special-use attribute"}
		}
	}
	name = strings.TrimSuffix(name, "/") // RFC 9051 §6.3.4: a trailing delimiter names a parent-to-be
	ctx, cancel := ss.ctx()
	defer cancel()
	if _, err := mailbox.Create(ctx, ss.srv.db.Client, ss.account.ID, name, use); err != nil {
		return ss.mailboxError(err)
	}
	return nil
}

// Delete implements imapserver.Session (DELETE).
func (ss *session) Delete(name string) error {
	ctx, cancel := ss.ctx()
	defer cancel()
	err := mailbox.DeleteMailbox(ctx, ss.srv.db.Client, ss.srv.store, ss.srv.hub, ss.account.ID, name)
	if err != nil {
		return ss.mailboxError(err)
	}
	return nil
}

// Rename implements imapserver.Session (RENAME).
func (ss *session) Rename(from, to string, _ *imap.RenameOptions) error {
	ctx, cancel := ss.ctx()
	defer cancel()
	if err := mailbox.RenameMailbox(ctx, ss.srv.db.Client, ss.srv.hub, ss.account.ID, from, to); err != nil {
		return ss.mailboxError(err)
	}
	return nil
}

// Subscribe implements imapserver.Session.
func (ss *session) Subscribe(name string) error { return ss.setSubscribed(name, true) }

// Unsubscribe implements imapserver.Session.
func (ss *session) Unsubscribe(name string) error { return ss.setSubscribed(name, false) }

func (ss *session) setSubscribed(name string, on bool) error {
	ctx, cancel := ss.ctx()
	defer cancel()
	if err := mailbox.SetSubscribed(ctx, ss.srv.db.Client, ss.account.ID, name, on); err != nil {
		return ss.mailboxError(err)
	}
	return nil
}

// List implements imapserver.Session (LIST with LIST-EXTENDED,
// LIST-STATUS, SPECIAL-USE and CHILDREN; and LSUB, which go-imap maps to
// LIST with SelectSubscribed).
func (ss *session) List(w *imapserver.ListWriter, ref string, patterns []string,
	options *imap.ListOptions) error {
	if options == nil {
		options = &imap.ListOptions{}
	}
	if len(patterns) == 0 {
		// RFC 9051 §6.3.9: LIST "" "" asks for the hierarchy delimiter
		// and root. go-imap drops empty patterns, so it arrives as none.
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: '/'})
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	mbs, err := ss.srv.db.Client.Mailbox.Query().
		Where(entmbox.AccountID(ss.account.ID)).Order(ent.Asc(entmbox.FieldName)).All(ctx)
	if err != nil {
		ss.log.Error("list mailboxes", "err", err)
		return ss.serverBug()
	}
	for _, e := range listEntries(mbs) {
		if !matchAny(e.name, ref, patterns) || !e.selected(options) {
			continue
		}
		data, err := ss.listData(ctx, e, options)
		if err != nil {
			return err
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

// listEntry is one name that LIST may show: a mailbox, or a level above
// mailboxes that does not exist itself (\NonExistent, RFC 5258 §3).
type listEntry struct {
	name       string
	mbox       *ent.Mailbox // nil for a missing level
	children   bool
	subscribed bool // the mailbox, or for SUBSCRIBED RECURSIVEMATCH a child, is subscribed
	subChild   bool
}

// listEntries returns the mailboxes and the missing levels above them, in
// name order.
func listEntries(mbs []*ent.Mailbox) []*listEntry {
	byName := map[string]*listEntry{}
	for _, mb := range mbs {
		byName[mb.Name] = &listEntry{name: mb.Name, mbox: mb, subscribed: mb.Subscribed}
	}
	for _, mb := range mbs {
		// Walk up the levels above mb: "a/b/c" gives "a/b", then "a".
		name := mb.Name
		for {
			i := strings.LastIndexByte(name, mailbox.Delimiter)
			if i <= 0 {
				break
			}
			name = name[:i]
			p := byName[name]
			if p == nil {
				p = &listEntry{name: name}
				byName[name] = p
			}
			p.children = true
			if mb.Subscribed {
				p.subChild = true
			}
		}
	}
	out := make([]*listEntry, 0, len(byName))
	for _, e := range byName {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// selected reports whether e passes the LIST selection options.
func (e *listEntry) selected(o *imap.ListOptions) bool {
	// With RECURSIVEMATCH, a subscribed child also selects its parent.
	subscribedMatch := e.subscribed || (o.SelectRecursiveMatch && e.subChild)
	if o.SelectSubscribed && !subscribedMatch {
		return false
	}
	if o.SelectSpecialUse && (e.mbox == nil || e.mbox.SpecialUse == nil) {
		return false
	}
	if e.mbox == nil && !o.SelectSubscribed {
		// A missing level shows only where a pattern stops at it ("%").
		return e.children
	}
	return true
}

func matchAny(name, ref string, patterns []string) bool {
	for _, p := range patterns {
		// INBOX matches in any case (RFC 9051 §6.3.9).
		if strings.EqualFold(p, mailbox.Inbox) {
			p = mailbox.Inbox
		}
		if imapserver.MatchList(name, mailbox.Delimiter, ref, p) {
			return true
		}
	}
	return false
}

// listData builds the LIST response for e.
func (ss *session) listData(ctx context.Context, e *listEntry, o *imap.ListOptions) (*imap.ListData, error) {
	data := &imap.ListData{Delim: mailbox.Delimiter, Mailbox: e.name}
	if e.mbox == nil {
		data.Attrs = append(data.Attrs, imap.MailboxAttrNonExistent, imap.MailboxAttrNoSelect)
	}
	if e.children {
		data.Attrs = append(data.Attrs, imap.MailboxAttrHasChildren)
	} else {
		data.Attrs = append(data.Attrs, imap.MailboxAttrHasNoChildren)
	}
	if e.subscribed && (o.SelectSubscribed || o.ReturnSubscribed) {
		data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
	}
	if o.SelectSubscribed && o.SelectRecursiveMatch && !e.subscribed && e.subChild {
		data.ChildInfo = &imap.ListDataChildInfo{Subscribed: true}
	}
	if e.mbox != nil && e.mbox.SpecialUse != nil {
		data.Attrs = append(data.Attrs, specialUse[*e.mbox.SpecialUse])
	}
	if o.ReturnStatus != nil && e.mbox != nil {
		st, err := ss.status(ctx, e.mbox, o.ReturnStatus)
		if err != nil {
			return nil, err
		}
		data.Status = st
	}
	return data, nil
}

// Status implements imapserver.Session (STATUS, with STATUS=SIZE).
func (ss *session) Status(name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	ctx, cancel := ss.ctx()
	defer cancel()
	mb, err := ss.findMailbox(ctx, name)
	if err != nil {
		return nil, err
	}
	return ss.status(ctx, mb, options)
}

// status counts what options asks for in one query.
func (ss *session) status(ctx context.Context, mb *ent.Mailbox, o *imap.StatusOptions) (*imap.StatusData, error) {
	data := &imap.StatusData{Mailbox: mb.Name, UIDNext: imap.UID(mb.UIDNext), UIDValidity: mb.UIDValidity}
	if o.AppendLimit {
		// RFC 7889 §6. go-imap parses APPENDLIMIT and DELETED-STORAGE
		// whatever is announced, and writes their values unchecked: a
		// nil one would end the connection.
		limit := ss.AppendLimit()
		data.AppendLimit = &limit
	}
	// The other items need the mailbox's messages counted.
	counted := o.NumMessages || o.NumUnseen || o.NumDeleted || o.Size || o.NumRecent || o.DeletedStorage
	if !counted {
		return data, nil
	}
	var rows []struct {
		Count       int   `json:"count"`
		Unseen      int   `json:"unseen"`
		Deleted     int   `json:"deleted"`
		Size        int64 `json:"size"`
		DeletedSize int64 `json:"deleted_size"`
	}
	err := ss.srv.db.Client.Message.Query().Where(message.MailboxID(mb.ID)).
		Aggregate(ent.Count(), countWhere("unseen", message.FieldSeen, false),
			countWhere("deleted", message.FieldDeleted, true), sumOf("size", message.FieldSize),
			sumDeleted("deleted_size")).
		Scan(ctx, &rows)
	if err != nil {
		ss.log.Error("status", "err", err)
		return nil, ss.serverBug()
	}
	var r = rows[0]
	n, unseen, deleted, zero := uint32(r.Count), uint32(r.Unseen), uint32(r.Deleted), uint32(0)
	if o.NumMessages {
		data.NumMessages = &n
	}
	if o.NumUnseen {
		data.NumUnseen = &unseen
	}
	if o.NumDeleted {
		data.NumDeleted = &deleted
	}
	if o.Size {
		data.Size = &r.Size
	}
	if o.NumRecent {
		data.NumRecent = &zero // Lightr keeps no \Recent (RFC 9051 drops it)
	}
	if o.DeletedStorage {
		kb := (r.DeletedSize + 1023) / 1024 // RFC 9208 §4.2.2: in units of 1024 octets
		data.DeletedStorage = &kb
	}
	return data, nil
}

// sumDeleted sums the sizes of the messages marked \Deleted, 0 for none.
func sumDeleted(as string) ent.AggregateFunc {
	return func(s *sql.Selector) string {
		return sql.As(fmt.Sprintf("COALESCE(SUM(CASE WHEN %s = 1 THEN %s ELSE 0 END), 0)",
			s.C(message.FieldDeleted), s.C(message.FieldSize)), as)
	}
}

// countWhere counts the rows whose boolean column col is val.
func countWhere(as, col string, val bool) ent.AggregateFunc {
	v := 0
	if val {
		v = 1
	}
	return func(s *sql.Selector) string {
		return sql.As(fmt.Sprintf("COALESCE(SUM(CASE WHEN %s = %d THEN 1 ELSE 0 END), 0)", s.C(col), v), as)
	}
}

// sumOf sums col, 0 for no rows.
func sumOf(as, col string) ent.AggregateFunc {
	return func(s *sql.Selector) string {
		return sql.As(fmt.Sprintf("COALESCE(SUM(%s), 0)", s.C(col)), as)
	}
}
