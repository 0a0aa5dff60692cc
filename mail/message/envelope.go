package message

import "time"

// maxInReplyTo bounds the ids kept from In-Reply-To.
const maxInReplyTo = 64

// messageHeader is what a message header says, decoded once for both the
// Envelope and the Parsed fields.
type messageHeader struct {
	date                               *time.Time
	subject                            string
	from, sender, replyTo, to, cc, bcc []listEntry
	inReplyTo                          []string
	messageID                          string
}

func readMessageHeader(hb *headerBlock) *messageHeader {
	var mh messageHeader
	if v, ok := hb.value(fDate); ok {
		if t, ok := parseDate(v); ok {
			mh.date = &t
		}
	}
	if v, ok := hb.value(fSubject); ok {
		mh.subject = decodeText(v)
	}
	lists := []struct {
		k   fieldKey
		dst *[]listEntry
	}{
		{fFrom, &mh.from}, {fSender, &mh.sender}, {fReplyTo, &mh.replyTo},
		{fTo, &mh.to}, {fCc, &mh.cc}, {fBcc, &mh.bcc},
	}
	for _, l := range lists {
		if v, ok := hb.value(l.k); ok {
			*l.dst = parseAddressList(v)
		}
	}
	if v, ok := hb.value(fInReplyTo); ok {
		mh.inReplyTo = msgIDs(v, maxInReplyTo)
	}
	if v, ok := hb.value(fMessageID); ok {
		if ids := msgIDs(v, 1); len(ids) > 0 {
			mh.messageID = ids[0]
		}
	}
	return &mh
}

func (mh *messageHeader) envelope() *Envelope {
	env := &Envelope{
		Subject:   mh.subject,
		From:      envelopeList(mh.from),
		Sender:    envelopeList(mh.sender),
		ReplyTo:   envelopeList(mh.replyTo),
		To:        envelopeList(mh.to),
		Cc:        envelopeList(mh.cc),
		Bcc:       envelopeList(mh.bcc),
		InReplyTo: mh.inReplyTo,
		MessageID: mh.messageID,
	}
	if mh.date != nil {
		env.Date = *mh.date
	}
	return env
}

// buildEnvelope decodes the envelope of a message header.
func buildEnvelope(hb *headerBlock) *Envelope {
	return readMessageHeader(hb).envelope()
}
