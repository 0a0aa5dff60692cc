package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
)

// batchSize is how many messages one transaction inserts. A message row
// binds about 30 values, so 500 rows stay well under SQLite's limit of
// 32766 bound variables per statement.
const batchSize = 500

// seedMessages inserts n messages into each INBOX, one transaction per
// batch and mailbox, the batches of the mailboxes interleaved so that the
// rows of the organizations share table pages as they would in production.
func seedMessages(ctx context.Context, c *ent.Client, inboxes []*mailboxRef, n int) error {
	// A fixed seed gives the same data, and so the same query plans and
	// response sizes, on every run.
	rng := rand.New(rand.NewPCG(2, 26))
	now := time.Now().UTC().Truncate(time.Second)
	for start := 0; start < n; start += batchSize {
		end := min(start+batchSize, n)
		for _, box := range inboxes {
			if err := seedBatch(ctx, c, box, rng, now, n, start, end); err != nil {
				return err
			}
		}
	}
	for _, box := range inboxes {
		err := c.Mailbox.UpdateOneID(box.id).
			SetUIDNext(uint32(n + 1)).
			SetHighestModseq(int64(n)).
			Exec(ctx)
		if err != nil {
			return err
		}
	}
	return nil
}

// seedBatch inserts messages start..end-1 of box, each with its own blob.
func seedBatch(ctx context.Context, c *ent.Client, box *mailboxRef, rng *rand.Rand,
	now time.Time, n, start, end int) error {
	tx, err := c.Tx(ctx)
	if err != nil {
		return err
	}
	msgs := make([]fakeMessage, 0, end-start)
	blobs := make([]*ent.BlobCreate, 0, end-start)
	for i := start; i < end; i++ {
		m := newFakeMessage(rng, box, now, n, i)
		msgs = append(msgs, m)
		blobs = append(blobs, tx.Blob.Create().
			SetOrganizationID(box.org).
			SetSha256(m.sha256).
			SetSize(m.size).
			SetKey(string(box.org)+"/"+m.sha256)) // as mail/store names them
	}
	saved, err := tx.Blob.CreateBulk(blobs...).Save(ctx)
	if err != nil {
		return rollback(tx, fmt.Errorf("insert blobs: %w", err))
	}

	creates := make([]*ent.MessageCreate, 0, len(msgs))
	for i, m := range msgs {
		creates = append(creates, m.create(tx.Message.Create(), box, saved[i].ID))
	}
	if err := tx.Message.CreateBulk(creates...).Exec(ctx); err != nil {
		return rollback(tx, fmt.Errorf("insert messages: %w", err))
	}
	return tx.Commit()
}

func rollback(tx *ent.Tx, err error) error {
	_ = tx.Rollback()
	return err
}

// fakeMessage is what delivery would have parsed out of one message.
type fakeMessage struct {
	uid                  uint32
	internalDate, sentAt time.Time
	size                 int64
	sha256               string
	subject              string
	fromName, fromAddr   string
	to, cc               []string
	messageID            string
	preview              string
	seen, flagged        bool
	answered, attachment bool
}

// newFakeMessage makes message i of n in box. Internal dates climb with
// the UID over the year before now, so the newest message has the highest
// UID, as in a real mailbox.
func newFakeMessage(rng *rand.Rand, box *mailboxRef, now time.Time, n, i int) fakeMessage {
	step := 365 * 24 * time.Hour / time.Duration(n)
	date := now.Add(-time.Duration(n-i) * step).Add(time.Duration(rng.Int64N(int64(step))))
	first, last := pick(rng, firstNames), pick(rng, lastNames)
	dom := pick(rng, senderDomains)
	m := fakeMessage{
		uid:          uint32(i + 1),
		internalDate: date,
		sentAt:       date.Add(-time.Duration(rng.IntN(120)) * time.Second),
		fromName:     first + " " + last,
		fromAddr:     strings.ToLower(first+"."+last) + "@" + dom,
		to:           []string{box.email},
		messageID:    fmt.Sprintf("%016x.%d@%s", rng.Uint64(), i, dom),
		subject:      fakeSubject(rng),
		preview:      fakePreview(rng),
		// Most mail is read; a few messages are flagged or answered.
		seen:       rng.IntN(100) < 85,
		flagged:    rng.IntN(100) < 4,
		answered:   rng.IntN(100) < 12,
		attachment: rng.IntN(100) < 15,
	}
	for range rng.IntN(3) {
		m.cc = append(m.cc, strings.ToLower(pick(rng, firstNames))+"@"+dom)
	}
	if rng.IntN(4) == 0 {
		m.to = append(m.to, "team@"+strings.SplitN(box.email, "@", 2)[1])
	}
	// Text mail is a few kilobytes; attachments make the long tail.
	m.size = 1500 + int64(rng.ExpFloat64()*6000)
	if m.attachment {
		m.size += 20_000 + int64(rng.ExpFloat64()*400_000)
	}
	// Blobs are content-addressed per organization: distinct content here.
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d/%s", box.org, i, m.messageID))
	m.sha256 = hex.EncodeToString(sum[:])
	return m
}

// create fills a MessageCreate with m.
func (m *fakeMessage) create(mc *ent.MessageCreate, box *mailboxRef, blob pulid.ID) *ent.MessageCreate {
	dmarc := "pass"
	if m.fromAddr[0] == 'z' {
		dmarc = "none"
	}
	mc.SetOrganizationID(box.org).
		SetAccountID(box.account).
		SetMailboxID(box.id).
		SetBlobID(blob).
		SetUID(m.uid).
		SetModseq(int64(m.uid)).
		SetSeen(m.seen).
		SetFlagged(m.flagged).
		SetAnswered(m.answered).
		SetInternalDate(m.internalDate).
		SetSentAt(m.sentAt).
		SetSize(m.size).
		SetSubject(m.subject).
		SetFromAddress(m.fromAddr).
		SetFromName(m.fromName).
		SetToAddresses(m.to).
		SetMessageIDHeader(m.messageID).
		SetPreview(m.preview).
		SetHasAttachments(m.attachment).
		SetAuthResults("mx.bench.test; spf=pass smtp.mailfrom=" + m.fromAddr +
			"; dkim=pass header.d=" + domainOf(m.fromAddr) + "; dmarc=" + dmarc).
		SetSpfResult("pass").
		SetDkimResult("pass").
		SetDmarcResult(dmarc).
		// Stand-ins of the usual size for the cached IMAP ENVELOPE and
		// BODYSTRUCTURE: neither read path selects or decodes them, but
		// they widen the rows as real ones do.
		SetEnvelope(fmt.Appendf(nil, "(%q %q ((%q NIL %q %q)) NIL NIL ((NIL NIL %q)) NIL NIL NIL %q)",
			m.sentAt.Format(time.RFC1123Z), m.subject, m.fromName, "", m.fromAddr,
			box.email, "<"+m.messageID+">")).
		SetBodyStructure([]byte(`(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" ` +
			`2113 54 NIL NIL NIL NIL)("text" "html" ("charset" "utf-8") NIL NIL "quoted-printable" ` +
			`9431 186 NIL NIL NIL NIL) "alternative" ("boundary" "b1") NIL NIL NIL)`))
	if len(m.cc) > 0 {
		mc.SetCcAddresses(m.cc)
	}
	return mc
}

func domainOf(addr string) string {
	_, d, _ := strings.Cut(addr, "@")
	return d
}

func pick(rng *rand.Rand, from []string) string { return from[rng.IntN(len(from))] }

// fakeSubject makes a subject line of the kinds an inbox collects.
func fakeSubject(rng *rand.Rand) string {
	s := fmt.Sprintf(pick(rng, subjects), rng.IntN(90000)+10000)
	if rng.IntN(5) == 0 {
		s = "Re: " + s
	}
	return s
}

// fakePreview makes the first 180–220 characters of a text body.
func fakePreview(rng *rand.Rand) string {
	target := 180 + rng.IntN(41)
	var b strings.Builder
	b.WriteString(pick(rng, greetings))
	for b.Len() < target {
		b.WriteByte(' ')
		b.WriteString(pick(rng, words))
	}
	return b.String()[:target]
}

var (
	firstNames = []string{
		"Maria", "James", "Aiko", "Olu", "Priya", "Lars", "Chen", "Fatima", "Diego", "Anna",
		"Tomasz", "Grace", "Yusuf", "Ingrid", "Mateo", "Zoe", "Kwame", "Elena", "Ravi", "Sofia",
	}
	lastNames = []string{
		"Garcia", "Smith", "Tanaka", "Adeyemi", "Sharma", "Nilsson", "Wei", "Haddad", "Lopez",
		"Kowalski", "Okafor", "Novak", "Rossi", "Murphy", "Dubois", "Zhang", "Silva", "Berg",
	}
	senderDomains = []string{
		"example.com", "example.org", "mail.example.net", "billing.example.com",
		"news.example.org", "corp.example", "shop.example", "university.example.edu",
	}
	subjects = []string{
		"Invoice #%d for your subscription",
		"Your order %d has shipped",
		"Meeting notes: quarterly planning (ref %d)",
		"Weekly newsletter, issue %d",
		"Action required: confirm your address (%d)",
		"Draft contract v%d for review",
		"Lunch on Thursday? %d",
		"Build %d failed on main",
		"Your receipt from the store, order %d",
		"Reminder: dentist appointment %d",
		"Travel itinerary, booking %d",
		"Security alert: new sign-in (%d)",
	}
	greetings = []string{"Hi,", "Hello team,", "Dear customer,", "Hey!", "Good morning,", "Hi there,"}
	words     = strings.Fields(`thanks for getting back to me so quickly about the proposal we discussed
		last week I have attached the updated figures and the timeline please let me know if the
		numbers look right before Friday when we need to send everything to the client your order
		will arrive within three business days and you can track the parcel using the link below
		the meeting has been moved to the small room on the second floor because of the renovation
		work we are happy to confirm your booking and look forward to seeing you`)
)
