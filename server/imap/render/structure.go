package render

import (
	"github.com/emersion/go-imap/v2"

	"github.com/lightr-mail/lightr/mail/message"
)

// BodyStructure returns the BODY (extended false) or BODYSTRUCTURE
// (extended true) of the message whose decoded cached structure is p
// (RFC 9051 §7.5.2). With extended, every part carries its extension
// data, which go-imap's writer requires for BODYSTRUCTURE; the MD5 field
// is always NIL. When a FETCH asks for both items, render the extended
// form: the writer derives BODY from it.
//
// The result always satisfies what go-imap's writer needs, even for a
// structure that breaks the invariants of message.Part (hand-built or
// stale): a multipart without children and a message/rfc822 part without
// its message are rendered as application/octet-stream leaves, and a nil
// p as an empty text/plain part. Sizes past 4 GiB, which IMAP's number
// cannot carry, are clamped.
func BodyStructure(p *message.Part, extended bool) imap.BodyStructure {
	if p == nil {
		p = &message.Part{Type: "text", Subtype: "plain", Encoding: "7bit"}
	}
	if p.IsMultipart() {
		return multipart(p, extended)
	}
	return singlePart(p, extended)
}

func multipart(p *message.Part, extended bool) *imap.BodyStructureMultiPart {
	bs := &imap.BodyStructureMultiPart{
		Subtype:  p.Subtype,
		Children: make([]imap.BodyStructure, len(p.Children)),
	}
	for i, c := range p.Children {
		bs.Children[i] = BodyStructure(c, extended)
	}
	if extended {
		bs.Extended = &imap.BodyStructureMultiPartExt{
			Params:      p.Params,
			Disposition: disposition(p),
			Language:    p.Language,
			Location:    p.Location,
		}
	}
	return bs
}

func singlePart(p *message.Part, extended bool) *imap.BodyStructureSinglePart {
	bs := &imap.BodyStructureSinglePart{
		Type:        p.Type,
		Subtype:     p.Subtype,
		Params:      p.Params,
		ID:          p.ID,
		Description: p.Description,
		Encoding:    p.Encoding,
		Size:        clampSize(p.Size),
	}
	embedded := p.Message != nil && p.Message.Body != nil
	switch {
	case embedded:
		bs.MessageRFC822 = &imap.BodyStructureMessageRFC822{
			Envelope:      Envelope(p.Message.Envelope),
			BodyStructure: BodyStructure(p.Message.Body, extended),
			NumLines:      p.Lines,
		}
	case p.Type == "text":
		bs.Text = &imap.BodyStructureText{NumLines: p.Lines}
	case p.Type == "multipart" || p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global"):
		// RFC 9051's grammar gives these types fields that p cannot
		// fill (children, or an envelope and a body); an opaque leaf is
		// what mail/message reports for a part it cannot parse.
		bs.Type, bs.Subtype = "application", "octet-stream"
	}
	if extended {
		bs.Extended = &imap.BodyStructureSinglePartExt{
			Disposition: disposition(p),
			Language:    p.Language,
			Location:    p.Location,
		}
	}
	return bs
}

func disposition(p *message.Part) *imap.BodyStructureDisposition {
	if p.Disposition == "" {
		return nil
	}
	return &imap.BodyStructureDisposition{Value: p.Disposition, Params: p.DispositionParams}
}
