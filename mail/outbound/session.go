package outbound

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// quitTimeout bounds the wait for the reply to QUIT.
const quitTimeout = 5 * time.Second

// session is an SMTP connection to one address, greeted and, where the
// policy wants it, encrypted: ready for MAIL FROM.
type session struct {
	raw  net.Conn // the TCP connection, under any TLS
	sc   *smtp.Client
	host string
	tls  TLSInfo
	stop func() bool // stops closing raw when the context ends

	// broken is set after a network error or timeout: the connection is
	// in an unknown state and is closed without QUIT.
	broken bool

	// opened and uses are when the connection was opened and how many
	// transactions it carried, for the connection cache.
	opened time.Time
	uses   int
}

// close ends the session politely when it can and closes the connection.
func (s *session) close() {
	s.stop()
	if !s.broken {
		s.sc.CommandTimeout = quitTimeout
		_ = s.sc.Quit()
	}
	_ = s.raw.Close()
}

// openError is why a session could not be opened. Unless final is set, the
// next address may be tried; plainRetry asks for this address again without
// STARTTLS, after a failed TLS handshake under the opportunistic policy.
type openError struct {
	o          outcome
	final      bool
	plainRetry bool
}

func (e *openError) Error() string { return e.o.text }

// open connects to addr and runs the greeting, EHLO, STARTTLS and AUTH that
// precede a transaction. useTLS false skips STARTTLS (the retry after a
// failed handshake).
func (c *Client) open(ctx context.Context, t target, addr netip.Addr, useTLS bool) (*session, *openError) {
	hostport := net.JoinHostPort(addr.String(), strconv.Itoa(t.port))
	raw, err := c.dialer.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return nil, &openError{o: netFailure("connect to "+hostport, err)}
	}
	s := &session{raw: raw, host: t.host, opened: time.Now()}
	s.stop = context.AfterFunc(ctx, func() { _ = raw.Close() })
	fail := func(e *openError) (*session, *openError) {
		s.stop()
		_ = raw.Close()
		return nil, e
	}

	sh := c.o.Smarthost
	conn := net.Conn(raw)
	if sh != nil && sh.TLS == SmarthostImplicitTLS {
		tc, err := c.handshake(ctx, raw, t.host, true, &s.tls)
		if err != nil {
			return fail(&openError{o: local(StatusDeferred, "4.7.5", "TLS with "+t.host+": "+err.Error())})
		}
		conn = tc
	}
	s.sc = c.newSMTP(conn)
	if e := c.hello(s); e != nil {
		return fail(e)
	}

	if e := c.maybeStartTLS(ctx, s, useTLS); e != nil {
		return fail(e)
	}
	if sh != nil && sh.Username != "" {
		if e := c.auth(s); e != nil {
			return fail(e)
		}
	}
	return s, nil
}

// newSMTP returns a go-smtp client on conn with our timeouts.
func (c *Client) newSMTP(conn net.Conn) *smtp.Client {
	sc := smtp.NewClient(conn)
	sc.CommandTimeout = c.o.CommandTimeout
	sc.SubmissionTimeout = c.o.DataTimeout
	return sc
}

// hello reads the greeting and sends EHLO (HELO when EHLO is refused). A
// 4xx lets the next host be tried, a 5xx is final.
func (c *Client) hello(s *session) *openError {
	err := s.sc.Hello(c.o.HeloName)
	if err == nil {
		return nil
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		o := fromReply(se)
		return &openError{o: o, final: o.status == StatusBounced}
	}
	return &openError{o: netFailure("greeting from "+s.host, err)}
}

// maybeStartTLS upgrades the session when the policy and the server allow
// it. Go-smtp's client has no StartTLS after a Hello of our choosing, so
// the command is sent here and a new client continues over TLS.
func (c *Client) maybeStartTLS(ctx context.Context, s *session, useTLS bool) *openError {
	required, verified := c.o.TLS != TLSOpportunistic, c.o.TLS == TLSRequireVerified
	if sh := c.o.Smarthost; sh != nil {
		required = sh.TLS == SmarthostSTARTTLS
		verified = required
		useTLS = required
		if sh.TLS == SmarthostImplicitTLS {
			return nil
		}
	}
	if !useTLS {
		return nil
	}
	tlsFail := func(msg string) *openError {
		return &openError{o: local(StatusDeferred, "4.7.5", msg)}
	}

	if ok, _ := s.sc.Extension("STARTTLS"); !ok {
		if required {
			return tlsFail(s.host + " does not offer STARTTLS, which the TLS policy requires")
		}
		return nil
	}
	tc, err := c.startTLS(ctx, s, verified)
	var se *smtp.SMTPError
	switch {
	case err == nil:
	case errors.As(err, &se) && !required:
		// A refused STARTTLS leaves the cleartext session usable
		// (RFC 3207 §4).
		return nil
	case required:
		return tlsFail("STARTTLS with " + s.host + ": " + err.Error())
	default:
		return &openError{o: local(StatusDeferred, "4.7.5", "STARTTLS with "+s.host+": "+err.Error()), plainRetry: true}
	}

	// After STARTTLS the server does not greet again (RFC 3207 §4.2), but
	// a new go-smtp client waits for a greeting: give it one.
	s.sc = c.newSMTP(&greetedConn{Conn: tc, r: io.MultiReader(strings.NewReader("220 TLS\r\n"), tc)})
	return c.hello(s)
}

// startTLS sends STARTTLS on the raw connection and runs the handshake.
func (c *Client) startTLS(ctx context.Context, s *session, enforce bool) (*tls.Conn, error) {
	if err := s.raw.SetDeadline(time.Now().Add(c.o.CommandTimeout)); err != nil {
		return nil, err
	}
	if _, err := io.WriteString(s.raw, "STARTTLS\r\n"); err != nil {
		return nil, err
	}
	br := bufio.NewReader(s.raw)
	if _, _, err := textproto.NewReader(br).ReadResponse(220); err != nil {
		var te *textproto.Error
		if errors.As(err, &te) {
			code, text := splitEnhanced(te.Msg)
			return nil, &smtp.SMTPError{Code: te.Code, EnhancedCode: parseEnhanced(code), Message: text}
		}
		return nil, err
	}
	// Anything sent before the handshake is an injection attempt: it would
	// be read as if it came over TLS (RFC 3207 §6 and CVE-2011-0411).
	if br.Buffered() > 0 {
		return nil, errors.New("data received before the TLS handshake")
	}
	if err := s.raw.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return c.handshake(ctx, s.raw, s.host, enforce, &s.tls)
}

// handshake runs a TLS client handshake on raw for host, recording the
// outcome in info; enforce makes a certificate that does not verify fail it.
func (c *Client) handshake(
	ctx context.Context, raw net.Conn, host string, enforce bool, info *TLSInfo,
) (*tls.Conn, error) {
	cfg := &tls.Config{
		ServerName: host,
		// Verified by VerifyConnection instead, so that the result can be
		// recorded without failing the handshake.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			err := verifyPeer(cs, host, c.o.RootCAs)
			info.Verified = err == nil
			if err != nil {
				info.VerifyError = sanitize(err.Error())
			}
			if enforce {
				return err
			}
			return nil
		},
	}
	tc := tls.Client(raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, c.o.CommandTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return nil, err
	}
	state := tc.ConnectionState()
	info.Used = true
	info.Version = tls.VersionName(state.Version)
	return tc, nil
}

// verifyPeer checks the server's certificate chain for host.
func verifyPeer(cs tls.ConnectionState, host string, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no certificate")
	}
	inter := x509.NewCertPool()
	for _, cert := range cs.PeerCertificates[1:] {
		inter.AddCert(cert)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		DNSName:       host,
		Roots:         roots,
		Intermediates: inter,
	})
	return err
}

// auth logs in to the smarthost with AUTH PLAIN. A refusal defers rather
// than bounces: it is a configuration error for the operator to fix, not
// a verdict on the recipients.
func (c *Client) auth(s *session) *openError {
	sh := c.o.Smarthost
	if !s.sc.SupportsAuth("PLAIN") {
		return &openError{o: local(StatusDeferred, "4.7.0", s.host+" does not offer AUTH PLAIN")}
	}
	err := s.sc.Auth(&plainAuth{user: sh.Username, pass: sh.Password})
	if err == nil {
		return nil
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		o := fromReply(se)
		o.status = StatusDeferred
		o.text = "AUTH refused: " + o.text
		return &openError{o: o}
	}
	return &openError{o: netFailure("AUTH with "+s.host, err)}
}

// plainAuth is the client side of SASL PLAIN (RFC 4616), implementing
// go-sasl's Client interface.
type plainAuth struct{ user, pass string }

func (a *plainAuth) Start() (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a *plainAuth) Next([]byte) ([]byte, error) {
	return nil, errors.New("outbound: unexpected AUTH PLAIN challenge")
}

// greetedConn is a connection whose reads start with a synthetic greeting.
type greetedConn struct {
	net.Conn
	r io.Reader
}

func (g *greetedConn) Read(p []byte) (int, error) { return g.r.Read(p) }

// netFailure is the outcome of a network error: a refused or unreachable
// connection is RFC 3463 X.4.1 (no answer from host), a timeout or a lost
// connection X.4.2 (bad connection).
func netFailure(what string, err error) outcome {
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return local(StatusDeferred, "4.4.2", what+": timeout")
	case errors.As(err, &oe) && oe.Op == "dial":
		return local(StatusDeferred, "4.4.1", what+": "+err.Error())
	}
	return local(StatusDeferred, "4.4.2", fmt.Sprintf("%s: %v", what, err))
}

// parseEnhanced parses "c.s.d"; an invalid code is the zero value.
func parseEnhanced(s string) smtp.EnhancedCode {
	var c smtp.EnhancedCode
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return c
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return smtp.EnhancedCode{}
		}
		c[i] = n
	}
	return c
}
