// Command fill puts the messages of the outbound benchmark
// (bench/outbound/run.sh) into a queue before the clock starts: the same
// N messages, each of about -size bytes and with one recipient, either
// into a stopped Lightr's queue or into Postfix over SMTP.
//
// Into Lightr, it opens the database named by the configuration (the
// file and the LIGHTR_* variables, as `lightr serve` would) and queues
// the messages through mail/outbox.Queue, -batch to a transaction, for
// the sending domain -domain, which must exist:
//
//	go run ./bench/outbound/fill -config lightr.yaml -n 10000 -domain send.bench.test
//
// Into Postfix, it sends them over -conns SMTP connections to -smtp,
// several messages per connection:
//
//	go run ./bench/outbound/fill -smtp 127.0.0.1:2527 -n 10000
//
// Message i goes to user<i>@r<i mod -rcpt-domains>.example.net and differs
// from the others in its Message-ID and first body line, so that no store
// can share one copy among them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/lightr-mail/lightr/ent/outboundmessage"
	"github.com/lightr-mail/lightr/ent/rule"
	"github.com/lightr-mail/lightr/mail/directory"
	"github.com/lightr-mail/lightr/mail/outbox"
	"github.com/lightr-mail/lightr/mail/store"
	"github.com/lightr-mail/lightr/server/config"
	"github.com/lightr-mail/lightr/server/db"
)

// params describe the messages, the same for both destinations.
type params struct {
	n, size, rcptDomains int
	from                 string
}

func main() {
	var p params
	flag.IntVar(&p.n, "n", 10000, "number of `messages`")
	flag.IntVar(&p.size, "size", 4096, "approximate message size in `bytes`")
	flag.IntVar(&p.rcptDomains, "rcpt-domains", 50, "number of recipient `domains`")
	flag.StringVar(&p.from, "from", "sender@send.bench.test", "sender `address`")
	file := flag.String("config", "", "Lightr configuration `file`")
	domain := flag.String("domain", "send.bench.test", "Lightr's sending `domain`")
	batch := flag.Int("batch", 200, "messages per Lightr `transaction`")
	presign := flag.Bool("presign", true, "DKIM-sign each message before queueing it, as sendEmail and "+
		"submission do (false: the workers sign as they send, as for tracked mail)")
	addr := flag.String("smtp", "", "SMTP `host:port` to send to instead (Postfix)")
	conns := flag.Int("conns", 8, "SMTP `connections` at once")
	timeout := flag.Duration("timeout", 15*time.Minute, "give up after this long")
	flag.Parse()
	if p.n <= 0 || p.size <= 0 || p.rcptDomains <= 0 || *batch <= 0 || *conns <= 0 {
		log.Fatal("fill: -n, -size, -rcpt-domains, -batch and -conns must be positive")
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	start := time.Now()
	var err error
	if *addr != "" {
		err = sendSMTP(ctx, *addr, *conns, p)
	} else {
		err = queueLightr(ctx, *file, *domain, *batch, *presign, p)
	}
	if err != nil {
		log.Fatalf("fill: %v", err)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		log.Printf("fill: cpu %.2f s", cpu.Seconds())
	}
	log.Printf("fill: %d messages in %.2f s", p.n, time.Since(start).Seconds())
}

// recipient returns message i's recipient.
func (p params) recipient(i int) string {
	return fmt.Sprintf("user%d@r%d.example.net", i, i%p.rcptDomains)
}

// message returns message i with CRLF line endings, padded with lines of
// text to about p.size bytes.
func (p params) message(i int) []byte {
	var b strings.Builder
	b.Grow(p.size + 100)
	fmt.Fprintf(&b, "From: Bench Sender <%s>\r\n", p.from)
	fmt.Fprintf(&b, "To: <%s>\r\n", p.recipient(i))
	fmt.Fprintf(&b, "Subject: outbound benchmark message %d\r\n", i)
	b.WriteString("Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n")
	fmt.Fprintf(&b, "Message-ID: <bench-%d@send.bench.test>\r\n", i)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
	fmt.Fprintf(&b, "Message %d of the outbound benchmark.\r\n", i)
	const line = "The quick brown fox jumps over the lazy dog, and the queue drains.\r\n"
	for b.Len()+len(line) <= p.size {
		b.WriteString(line)
	}
	return []byte(b.String())
}

// queueLightr queues the messages into the database of the configuration
// in file, batch to a transaction. With presign, each batch is signed
// first, on every core, outside the transaction, as mail/submit does.
func queueLightr(ctx context.Context, file, domain string, batch int, presign bool, p params) error {
	cfg, err := config.Load(config.LoadOptions{File: file})
	if err != nil {
		return err
	}
	d, err := db.Open(ctx, db.Options{
		Path:        cfg.DatabasePath(),
		BusyTimeout: cfg.Database.BusyTimeout,
	})
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()

	ctx = rule.SystemContext(ctx)
	dom, err := directory.FindDomain(ctx, d.Client, domain)
	if err != nil {
		return fmt.Errorf("sending domain %s: %w", domain, err)
	}
	sending, err := outbox.NewDomainCache(d.Client, 0).Get(ctx, dom.ID)
	if err != nil {
		return err
	}
	st := store.New()
	for first := 0; first < p.n; first += batch {
		last := min(first+batch, p.n)
		msgs := make([]*outbox.Message, 0, last-first)
		for i := first; i < last; i++ {
			msgs = append(msgs, &outbox.Message{
				Org:             dom.OrganizationID,
				Domain:          dom.ID,
				MailFrom:        p.from,
				Recipients:      []string{p.recipient(i)},
				Raw:             p.message(i),
				Source:          outboundmessage.SourceAPI,
				Subject:         fmt.Sprintf("outbound benchmark message %d", i),
				MessageIDHeader: fmt.Sprintf("<bench-%d@send.bench.test>", i),
			})
		}
		if presign {
			if err := signAll(msgs, sending); err != nil {
				return err
			}
		}
		tx, err := d.Tx(ctx)
		if err != nil {
			return err
		}
		for i, m := range msgs {
			if _, err = outbox.Queue(ctx, tx.Client(), st, m); err != nil {
				return errors.Join(fmt.Errorf("queue message %d: %w", first+i, err), tx.Rollback())
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit messages %d-%d: %w", first, last-1, err)
		}
	}
	return nil
}

// signAll presigns msgs on every core.
func signAll(msgs []*outbox.Message, d *outbox.SendingDomain) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, runtime.GOMAXPROCS(0))
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < len(msgs) && errs[w] == nil; i = int(next.Add(1)) - 1 {
				errs[w] = outbox.Presign(msgs[i], d)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// sendSMTP sends the messages to addr over conns connections at once.
func sendSMTP(ctx context.Context, addr string, conns int, p params) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, conns)
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = sendConn(ctx, addr, p, &next)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// sendConn sends messages on one connection, taking the next index from
// next until all are taken.
func sendConn(ctx context.Context, addr string, p params, next *atomic.Int64) error {
	conn, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c := smtp.NewClient(conn)
	defer func() { _ = c.Close() }()
	if err := c.Hello("client.bench.test"); err != nil {
		return err
	}
	for {
		i := int(next.Add(1) - 1)
		if i >= p.n {
			return c.Quit()
		}
		if err := sendOne(c, p, i); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
	}
}

func sendOne(c *smtp.Client, p params, i int) error {
	if err := c.Mail(p.from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(p.recipient(i), nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(p.message(i)); err != nil {
		return errors.Join(err, w.Close())
	}
	return w.Close()
}
