package main

import (
	"bytes"
	"fmt"
	"os"
	"time"
)

// mail is one message of the corpus, as both servers get it by APPEND.
type mail struct {
	raw  []byte    // CRLF line ends
	date time.Time // from the mbox "From " line, the APPEND internal date
}

// readMbox splits the mbox that make-mbox.py writes. make-mbox.py quotes
// body lines that start with "From " and ends every message with a blank
// line, so a message starts at every "From " line that follows a blank
// line (or starts the file).
func readMbox(path string) ([]mail, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []mail
	for len(data) > 0 {
		if !bytes.HasPrefix(data, []byte("From ")) {
			return nil, fmt.Errorf("mbox %s: message %d does not start with a From line", path, len(out)+1)
		}
		end := bytes.Index(data, []byte("\n\nFrom "))
		next := end + 2
		if end < 0 {
			end, next = len(data), len(data)
		} else {
			end++ // keep the message's last line end
		}
		m, err := parseMessage(data[:end])
		if err != nil {
			return nil, fmt.Errorf("mbox %s: message %d: %w", path, len(out)+1, err)
		}
		out = append(out, m)
		data = data[next:]
	}
	return out, nil
}

// parseMessage takes the date off the From line and turns LF into CRLF.
func parseMessage(b []byte) (mail, error) {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		return mail{}, fmt.Errorf("no line after the From line")
	}
	from := string(b[:nl]) // From addr Wed Jan 01 00:05:00 2025
	var addr string
	var date time.Time
	if n, _ := fmt.Sscanf(from, "From %s", &addr); n != 1 || len(from) < len("From ")+len(addr)+1 {
		return mail{}, fmt.Errorf("bad From line %q", from)
	}
	date, err := time.Parse(time.ANSIC, from[len("From ")+len(addr)+1:])
	if err != nil {
		return mail{}, fmt.Errorf("date in From line %q: %w", from, err)
	}
	body := b[nl+1:]
	raw := make([]byte, 0, len(body)+bytes.Count(body, []byte("\n")))
	for len(body) > 0 {
		i := bytes.IndexByte(body, '\n')
		if i < 0 {
			raw = append(append(raw, body...), '\r', '\n')
			break
		}
		raw = append(append(raw, body[:i]...), '\r', '\n')
		body = body[i+1:]
	}
	return mail{raw: raw, date: date}, nil
}

// corpusCount counts the messages that contain needle, ASCII case folded,
// as SEARCH TEXT does: it is what both servers must answer.
func corpusCount(corpus []mail, needle string) int {
	n := 0
	lower := bytes.ToLower([]byte(needle))
	for _, m := range corpus {
		if bytes.Contains(bytes.ToLower(m.raw), lower) {
			n++
		}
	}
	return n
}

// pickRareWord returns a three-word phrase from the body of a message in
// the middle of the corpus that occurs in few messages (2 to 20), so that
// SEARCH TEXT has a few hits to find; words are random in make-mbox.py's
// corpus, so one word alone is in nearly every message.
func pickRareWord(corpus []mail) (string, int, error) {
	lowered := make([][]byte, len(corpus))
	for i, m := range corpus {
		lowered[i] = bytes.ToLower(m.raw)
	}
	for i := len(corpus) / 2; i < len(corpus); i++ {
		body := lowered[i]
		if h := bytes.Index(body, []byte("\r\n\r\n")); h >= 0 {
			body = body[h+4:]
		}
		for _, line := range bytes.Split(body, []byte("\r\n")) {
			words := bytes.Fields(line)
			for j := 0; j+3 <= len(words); j++ {
				phrase := bytes.Join(words[j:j+3], []byte(" "))
				n := 0
				for _, m := range lowered {
					if bytes.Contains(m, phrase) {
						n++
					}
				}
				if n >= 2 && n <= 20 {
					return string(phrase), n, nil
				}
			}
		}
	}
	return "", 0, fmt.Errorf("no phrase occurs in 2 to 20 messages")
}
