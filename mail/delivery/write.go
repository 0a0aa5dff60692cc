package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/event"
	entmsg "github.com/lightr-mail/lightr/ent/message"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/server/db"
)

// EventReceived is the type of the event appended for every stored copy.
const EventReceived = "message.received"

// The statements of a delivery. The rows are written with raw SQL rather
// than Ent builders: the tenant hook of an Ent create reads the
// organization of every row it links to, which would take six statements
// instead of two for the message and its event (see the package comment
// for why tenancy holds regardless). The column names come from the
// generated constants, and the tests read every row back through Ent.
const (
	// chargeQuota adds ?1 bytes to account ?2 unless that exceeds its
	// quota; no row changes when it would, or when the account is gone.
	// Matching the organization and domain too guarantees that the rows
	// written for the target, all stamped with its organization, belong to
	// the account's: the account's mailboxes always do.
	chargeQuota = `UPDATE accounts SET used_bytes = used_bytes + ?1
		WHERE id = ?2 AND organization_id = ?3 AND domain_id = ?4
		AND (quota_bytes = 0 OR used_bytes + ?1 <= quota_bytes)`
	refundQuota   = `UPDATE accounts SET used_bytes = used_bytes - ? WHERE id = ?`
	accountExists = `SELECT 1 FROM accounts WHERE id = ? AND organization_id = ? AND domain_id = ?`

	// allocUID takes the mailbox's next UID and MODSEQ in one statement
	// (RFC 9051 §2.3.1.1: UIDs strictly ascend; RFC 7162 §3.1.1: the
	// mailbox's HIGHESTMODSEQ is the MODSEQ of its latest change).
	allocUID = `UPDATE mailboxes
		SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1, updated_at = ?
		WHERE account_id = ? AND name = ?
		RETURNING id, uid_next - 1, highest_modseq`
)

// messageColumns are the columns insertMessage writes, in the order of
// messageArgs. The flags and keywords keep their defaults.
var messageColumns = []string{
	entmsg.FieldID, entmsg.FieldCreatedAt, entmsg.FieldUpdatedAt,
	entmsg.FieldOrganizationID, entmsg.FieldAccountID, entmsg.FieldMailboxID,
	entmsg.FieldBlobID, entmsg.FieldUID, entmsg.FieldModseq,
	entmsg.FieldSeen, entmsg.FieldAnswered, entmsg.FieldFlagged,
	entmsg.FieldDeleted, entmsg.FieldDraft,
	entmsg.FieldInternalDate, entmsg.FieldSize, entmsg.FieldSubject,
	entmsg.FieldFromAddress, entmsg.FieldFromName, entmsg.FieldToAddresses,
	entmsg.FieldCcAddresses, entmsg.FieldSentAt, entmsg.FieldMessageIDHeader,
	entmsg.FieldPreview, entmsg.FieldHasAttachments, entmsg.FieldAttachments,
	entmsg.FieldEnvelope, entmsg.FieldBodyStructure, entmsg.FieldAuthResults,
	entmsg.FieldSpfResult, entmsg.FieldDkimResult, entmsg.FieldDmarcResult,
}

// eventColumns are the columns insertEvent writes, in the order of
// eventArgs.
var eventColumns = []string{
	event.FieldID, event.FieldOrganizationID, event.FieldType, event.FieldDomainID,
	event.FieldAccountID, event.FieldMessageID, event.FieldRecipient,
	event.FieldPayload, event.FieldCreatedAt,
}

var (
	insertMessage = db.InsertSQL(entmsg.Table, messageColumns...)
	insertEvent   = db.InsertSQL(event.Table, eventColumns...)
)

// txn is the transaction of one batch.
type txn struct {
	tx  *ent.Tx
	c   *ent.Client // tx's client, for the blob store
	now time.Time
}

// copyKey identifies one stored copy within a message.
type copyKey struct {
	account pulid.ID
	mailbox string
}

// write stores r's message for each of its recipients. Recipient failures
// go in the returned slice; an error fails the whole message.
func (d *Deliverer) write(ctx context.Context, t *txn, r *request) ([]Delivered, []error, error) {
	rcpts := r.msg.Recipients
	results := make([]Delivered, len(rcpts))
	errs := make([]error, len(rcpts))
	first := make(map[copyKey]int, len(rcpts))
	blobs := make(map[pulid.ID]pulid.ID) // organization → blob, saved once each
	var out []Delivered
	var failed bool

	for i, rc := range rcpts {
		key := copyKey{rc.AccountID, mailboxName(rc)}
		if j, ok := first[key]; ok {
			// Named twice (an alias and its member, say): one copy.
			results[i], errs[i] = results[j], errs[j]
			results[i].Recipient.Target = rc.Target
		} else {
			first[key] = i
			var err error
			results[i], err = d.writeCopy(ctx, t, r, rc, blobs)
			var rf *recipientFailure
			switch {
			case errors.As(err, &rf):
				errs[i] = rf.err
			case err != nil:
				return nil, nil, err
			}
		}
		if errs[i] == nil {
			out = append(out, results[i])
		} else {
			failed = true
		}
	}
	if !failed {
		errs = nil
	} else if r.msg.AllOrNothing {
		return nil, nil, &RecipientsError{Errs: errs}
	}
	return out, errs, nil
}

// writeCopy stores one copy of r's message for rc: it charges the quota,
// takes a UID, saves the blob (once per organization) and inserts the
// message and its event. A *recipientFailure is rc's own failure, which
// leaves nothing behind; any other error fails the message.
func (d *Deliverer) writeCopy(ctx context.Context, t *txn, r *request, rc Recipient,
	blobs map[pulid.ID]pulid.ID) (Delivered, error) {
	size := r.cache.size
	if err := d.charge(ctx, t, rc.Target, size); err != nil {
		return Delivered{}, err
	}
	name := mailboxName(rc)
	mbox, uid, modseq, ok, err := d.allocate(ctx, t, rc.AccountID, name)
	if err == nil && !ok && name != Inbox {
		name = Inbox
		mbox, uid, modseq, ok, err = d.allocate(ctx, t, rc.AccountID, name)
	}
	if err != nil {
		return Delivered{}, err
	}
	if !ok {
		if _, err := t.tx.ExecContext(ctx, refundQuota, size, string(rc.AccountID)); err != nil {
			return Delivered{}, fmt.Errorf("delivery: refund quota: %w", err)
		}
		return Delivered{}, failRecipient(ErrNoMailbox, rc.AccountID)
	}

	blob, ok := blobs[rc.OrgID]
	if !ok {
		b, err := d.store.Save(ctx, t.c, rc.OrgID, r.msg.Raw)
		if err != nil {
			return Delivered{}, fmt.Errorf("delivery: save blob: %w", err)
		}
		blob = b.ID
		blobs[rc.OrgID] = blob
	}

	rc.Mailbox = name
	dv := Delivered{Recipient: rc, MessageID: pulid.New("msg"), MailboxID: mbox, UID: uid}
	if _, err := t.tx.ExecContext(ctx, insertMessage, messageArgs(t, r, dv, blob, modseq)...); err != nil {
		return Delivered{}, fmt.Errorf("delivery: insert message: %w", err)
	}
	args, err := eventArgs(t, r, dv)
	if err != nil {
		return Delivered{}, err
	}
	if _, err := t.tx.ExecContext(ctx, insertEvent, args...); err != nil {
		return Delivered{}, fmt.Errorf("delivery: insert event: %w", err)
	}
	return dv, nil
}

// charge adds size to the used bytes of the target's account, or fails
// the recipient with ErrOverQuota or ErrNoAccount (also when the account
// is not in the target's organization and domain). This check, inside
// the transaction, is the authoritative one.
func (d *Deliverer) charge(ctx context.Context, t *txn, tg directory.Target, size int64) error {
	account := tg.AccountID
	res, err := t.tx.ExecContext(ctx, chargeQuota,
		size, string(account), string(tg.OrgID), string(tg.DomainID))
	if err != nil {
		return fmt.Errorf("delivery: charge quota: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	rows, err := t.tx.QueryContext(ctx, accountExists,
		string(account), string(tg.OrgID), string(tg.DomainID))
	if err != nil {
		return fmt.Errorf("delivery: find account: %w", err)
	}
	defer rows.Close()
	exists := rows.Next()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("delivery: find account: %w", err)
	}
	if !exists {
		return failRecipient(ErrNoAccount, account)
	}
	return failRecipient(ErrOverQuota, account)
}

// recipientFailure carries the failure of one recipient, which does not
// fail the message, up to write.
type recipientFailure struct{ err error }

// Error implements error.
func (f *recipientFailure) Error() string { return f.err.Error() }

// failRecipient returns the failure sentinel of account as a
// *recipientFailure.
func failRecipient(sentinel error, account pulid.ID) error {
	return &recipientFailure{fmt.Errorf("%w: %s", sentinel, account)}
}

// allocate takes the next UID and MODSEQ of the account's mailbox name;
// ok is false when the account has no such mailbox.
func (d *Deliverer) allocate(ctx context.Context, t *txn, account pulid.ID,
	name string) (mbox pulid.ID, uid uint32, modseq int64, ok bool, err error) {
	rows, err := t.tx.QueryContext(ctx, allocUID, t.now, string(account), name)
	if err != nil {
		return "", 0, 0, false, fmt.Errorf("delivery: allocate UID: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&mbox, &uid, &modseq); err != nil {
			return "", 0, 0, false, fmt.Errorf("delivery: allocate UID: %w", err)
		}
		ok = true
	}
	if err := rows.Err(); err != nil {
		return "", 0, 0, false, fmt.Errorf("delivery: allocate UID: %w", err)
	}
	return mbox, uid, modseq, ok, nil
}

// messageArgs returns the values of messageColumns for copy dv.
func messageArgs(t *txn, r *request, dv Delivered, blob pulid.ID, modseq int64) []any {
	c, m, rc := &r.cache, r.msg, dv.Recipient
	return []any{
		string(dv.MessageID), t.now, t.now,
		string(rc.OrgID), string(rc.AccountID), string(dv.MailboxID),
		string(blob), int64(dv.UID), modseq,
		false, false, false,
		false, false,
		c.internalDate, c.size, c.subject,
		c.fromAddress, c.fromName, c.to,
		c.cc, c.sentAt, c.messageID,
		c.preview, c.hasAttachments, c.attachments,
		c.envelope, c.bodyStructure, m.AuthResults,
		m.SPF, m.DKIM, m.DMARC,
	}
}

// eventArgs returns the values of eventColumns for the event of copy dv.
func eventArgs(t *txn, r *request, dv Delivered) ([]any, error) {
	rc := dv.Recipient
	payload, err := json.Marshal(map[string]any{
		"mailbox": rc.Mailbox,
		"uid":     dv.UID,
		"subject": r.cache.subject,
		"from":    r.cache.fromAddress,
		"size":    r.cache.size,
	})
	if err != nil {
		return nil, fmt.Errorf("delivery: encode event: %w", err)
	}
	return []any{
		string(pulid.New("evt")), string(rc.OrgID), EventReceived, string(rc.DomainID),
		string(rc.AccountID), string(dv.MessageID), rc.Address,
		payload, t.now,
	}, nil
}
