package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"entgo.io/ent/privacy"

	"github.com/lightr-mail/lightr/ent"
	"github.com/lightr-mail/lightr/ent/schema/pulid"
	"github.com/lightr-mail/lightr/mail/message"
	"github.com/lightr-mail/lightr/mail/store"
)

// downloads serves the bytes behind a message's rawUrl and its
// attachments' downloadUrl (see graph.RawPath and graph.AttachmentPath).
// The message is read through Ent with the request's viewer, so the
// privacy rules decide, as for /graphql: another organization's message
// is not found.
type downloads struct {
	client *ent.Client
	store  *store.Store
	log    *slog.Logger
}

// registerDownloads adds the download routes to mux, behind the same
// bearer authentication as /graphql.
func registerDownloads(mux *http.ServeMux, o Options) {
	d := &downloads{client: o.Client, store: o.Store, log: o.Log}
	if d.store == nil {
		d.store = store.New()
	}
	mux.Handle("GET /messages/{id}/raw", authenticate(o.Auth, o.Log, http.HandlerFunc(d.raw)))
	mux.Handle("GET /messages/{id}/attachments/{index}",
		authenticate(o.Auth, o.Log, http.HandlerFunc(d.attachment)))
}

// raw serves a message as sent, as message/rfc822 (RFC 2046 §5.2.1).
func (d *downloads) raw(w http.ResponseWriter, r *http.Request) {
	id := pulid.ID(r.PathValue("id"))
	raw, ok := d.load(w, r, id)
	if !ok {
		return
	}
	serve(w, r, "message/rfc822", string(id)+".eml", raw)
}

// attachment serves one attachment of a message, decoded from its
// transfer encoding.
func (d *downloads) attachment(w http.ResponseWriter, r *http.Request) {
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || index < 0 {
		writeError(w, http.StatusBadRequest, CodeBadUserInput,
			"the attachment index must be a number from 0")
		return
	}
	id := pulid.ID(r.PathValue("id"))
	raw, ok := d.load(w, r, id)
	if !ok {
		return
	}
	a, data, err := message.OpenAttachment(raw, index)
	switch {
	case errors.Is(err, message.ErrNoAttachment):
		writeError(w, http.StatusNotFound, CodeNotFound, "not found")
		return
	case err != nil:
		d.fail(w, r, "open attachment", id, err)
		return
	}
	name := safeFilename(a.Filename, "attachment-"+strconv.Itoa(index))
	serve(w, r, passiveType(a.ContentType), name, data)
}

// load returns the raw bytes of message id as the request's viewer may
// see them, or answers the request with the error and returns false.
func (d *downloads) load(w http.ResponseWriter, r *http.Request, id pulid.ID) ([]byte, bool) {
	raw, err := d.fetch(r.Context(), id)
	switch {
	case err == nil:
		return raw, true
	case ent.IsNotFound(err):
		writeError(w, http.StatusNotFound, CodeNotFound, "not found")
	case errors.Is(err, privacy.Deny):
		writeError(w, http.StatusForbidden, CodeForbidden, "forbidden")
	default:
		d.fail(w, r, "load message", id, err)
	}
	return nil, false
}

// fetch reads message id, its blob and the blob's bytes.
func (d *downloads) fetch(ctx context.Context, id pulid.ID) ([]byte, error) {
	m, err := d.client.Message.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	b, err := m.QueryBlob().Only(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := d.store.Load(ctx, d.client, b)
	if ent.IsNotFound(err) {
		// The message exists, so missing bytes are the server's fault: not
		// wrapped, so that they are no 404.
		return nil, fmt.Errorf("bytes of blob %s missing: %s", b.ID, err.Error())
	}
	return raw, err
}

// fail logs a server-side error and answers 500 with the request id.
func (d *downloads) fail(w http.ResponseWriter, r *http.Request, what string, id pulid.ID,
	err error) {
	rid := requestID(r.Context())
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		d.log.Info("download ended early", "request_id", rid, "msg_id", id, "err", err)
	} else {
		d.log.Error("download failed", "request_id", rid, "msg_id", id, "what", what, "err", err)
	}
	writeError(w, http.StatusInternalServerError, CodeInternal,
		"internal error (request "+rid+")")
}

// serve sends data as a download named filename. Whatever the type, the
// browser is told to save rather than render it (Content-Disposition
// attachment, RFC 6266 §4.2) and not to guess another type (nosniff); the
// sandbox policy keeps any script inert should it be rendered anyway. Mail
// is private, so no cache keeps it.
func serve(w http.ResponseWriter, r *http.Request, contentType, filename string, data []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", disposition(filename))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-store")
	// ServeContent answers Range requests and HEAD; the zero time leaves
	// out Last-Modified.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// disposition returns the Content-Disposition value for filename, which
// mime encodes as filename* (RFC 2231) when it is not plain ASCII.
func disposition(filename string) string {
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": filename}); v != "" {
		return v
	}
	return "attachment"
}

// maxFilename bounds the length of a served file name, in runes.
const maxFilename = 150

// safeFilename makes a sender's file name safe to offer for saving: no
// directories, no control or quoting characters, no leading dots (hidden
// files) or trailing dots and spaces (which Windows drops), and not too
// long. What is left empty becomes fallback.
func safeFilename(name, fallback string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r == unicode.ReplacementChar, unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			return -1 // also drops bidirectional overrides that disguise extensions
		case strings.ContainsRune(`"*:<>?|`, r):
			return '_'
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	if runes := []rune(name); len(runes) > maxFilename {
		name = string(runes[:maxFilename])
	}
	name = strings.TrimRight(name, ". ")
	if name == "" {
		return fallback
	}
	return name
}

// passiveTypes are the media types served as themselves: types a browser
// displays without running anything. Everything else (text/html, SVG,
// XML, scripts, unknown types) goes out as application/octet-stream.
var passiveTypes = map[string]bool{
	"text/plain": true, "text/csv": true,
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
	"image/bmp": true, "image/avif": true, "image/heic": true, "image/tiff": true,
	"application/pdf": true, "application/zip": true,
}

// passiveType returns ct, reduced to its media type (and charset for
// text), if it is passive; otherwise application/octet-stream.
func passiveType(ct string) string {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "application/octet-stream"
	}
	major, _, _ := strings.Cut(mt, "/")
	if !passiveTypes[mt] && major != "audio" && major != "video" {
		return "application/octet-stream"
	}
	if cs := params["charset"]; major == "text" && cs != "" {
		if v := mime.FormatMediaType(mt, map[string]string{"charset": cs}); v != "" {
			return v
		}
	}
	return mt
}
