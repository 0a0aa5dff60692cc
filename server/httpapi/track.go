package httpapi

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lightr-mail/lightr/mail/track"
)

// TrackingOptions configure the open and click endpoints.
type TrackingOptions struct {
	// Recorder records the hits; nil serves no tracking endpoints.
	Recorder *track.Recorder
	// TrustedProxies are the reverse proxies whose X-Forwarded-For
	// header is believed.
	TrustedProxies []netip.Prefix
}

// pixelGIF is a transparent 1x1 GIF89a.
var pixelGIF = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff" +
	"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// tracker serves /t/o/{token} (the open pixel) and /t/c/{token} (a
// tracked link). They need no credential: the signed token is the
// authority, and one that does not verify is not found.
type tracker struct {
	rec     *track.Recorder
	proxies []netip.Prefix
	log     *slog.Logger
}

// registerTracking adds the tracking routes to mux, if o has a recorder.
func registerTracking(mux *http.ServeMux, o Options) {
	if o.Tracking.Recorder == nil {
		return
	}
	t := &tracker{rec: o.Tracking.Recorder, proxies: o.Tracking.TrustedProxies, log: o.Log}
	mux.HandleFunc("GET /t/o/{token}", t.open)
	mux.HandleFunc("GET /t/c/{token}", t.click)
}

// open serves the pixel. A failure to record is the server's problem,
// not the reader's: the image is served all the same.
func (t *tracker) open(w http.ResponseWriter, r *http.Request) {
	if _, ok := t.record(w, r, track.KindOpen); !ok {
		return
	}
	noStore(w)
	w.Header().Set("Content-Type", "image/gif")
	w.Header().Set("Content-Length", strconv.Itoa(len(pixelGIF)))
	_, _ = w.Write(pixelGIF)
}

// click redirects to the link the token names, exactly as it was in the
// message.
func (t *tracker) click(w http.ResponseWriter, r *http.Request) {
	tok, ok := t.record(w, r, track.KindClick)
	if !ok {
		return
	}
	noStore(w)
	// The token stays out of the Referer the destination sees.
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Location", tok.URL)
	w.WriteHeader(http.StatusFound)
}

// record verifies the request's token and records the hit (not for a
// HEAD, which link checkers send). It answers 404 itself for a token
// that does not verify and reports false.
func (t *tracker) record(w http.ResponseWriter, r *http.Request, k track.Kind) (track.Token, bool) {
	raw := r.PathValue("token")
	if r.Method == http.MethodHead {
		tok, err := t.rec.Signer.Decode(k, raw)
		if err != nil {
			http.NotFound(w, r)
			return track.Token{}, false
		}
		return tok, true
	}
	tok, _, err := t.rec.Record(r.Context(), track.Hit{
		Kind: k, Token: raw, UserAgent: r.UserAgent(), IP: clientIP(r, t.proxies),
	})
	switch {
	case errors.Is(err, track.ErrBadToken):
		t.log.Debug("tracking token refused", "kind", k.String(), "remote_ip", r.RemoteAddr,
			"request_id", requestID(r.Context()))
		http.NotFound(w, r)
		return track.Token{}, false
	case err != nil:
		t.log.Error("record tracking hit", "kind", k.String(), "msg_id", tok.Message,
			"request_id", requestID(r.Context()), "err", err)
	}
	return tok, true
}

// noStore keeps caches (and mail clients' image proxies, as far as they
// listen) from answering repeated hits without asking.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store, no-cache, must-revalidate, private, max-age=0")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Expires", "0")
}

// clientIP returns the address of the request's client: the peer, or,
// when the peer is a trusted proxy, the last address in X-Forwarded-For
// that is not one (the ones before it could be forged by the client).
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0 && isTrusted(addr, trusted); i-- {
		next, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		addr = next.Unmap()
	}
	return addr.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
