package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"
)

const fetchAll = "UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)"

// sample is one timed command.
type sample struct {
	Wall  time.Duration // from writing the command to reading its tagged OK
	CPU   time.Duration // of the server's process tree meanwhile
	Bytes int64         // of the answer
	Count int           // FETCH responses, or SEARCH hits
}

// timed runs cmd on rc and checks that it answered want messages.
func timed(s *server, rc *rawConn, cmd string, want int) (sample, error) {
	pid := s.pid()
	c0, t0 := cpu(pid), time.Now()
	a, err := rc.do(cmd)
	wall := time.Since(t0)
	c1 := cpu(pid)
	if err != nil {
		return sample{}, err
	}
	n := a.fetches
	if cmd != fetchAll {
		n = len(a.searched)
	}
	if n != want {
		return sample{}, fmt.Errorf("%s answered %d messages, want %d", cmd, n, want)
	}
	return sample{Wall: wall, CPU: c1 - c0, Bytes: a.bytes, Count: n}, nil
}

// results are everything the report shows.
type results struct {
	opts                  options
	st                    state
	loadBefore, loadAfter string
	few, none             string // the SEARCH TEXT arguments
	fewHits               int
	// samples[server][op], in run order.
	samples map[string]map[string][]sample
	idle    []idleResult
}

func (r *results) add(server, op string, s sample) {
	if r.samples[server] == nil {
		r.samples[server] = map[string][]sample{}
	}
	r.samples[server][op] = append(r.samples[server][op], s)
}

// measure runs the timed commands and the idle connections and writes
// the report.
func measure(o options, servers []*server) error {
	corpus, err := readMbox(o.mbox)
	if err != nil {
		return err
	}
	r := &results{opts: o, samples: map[string]map[string][]sample{}, loadBefore: loadAvg()}
	if b, err := os.ReadFile(o.state); err == nil {
		if err := json.Unmarshal(b, &r.st); err != nil {
			return err
		}
	}
	if r.few, r.fewHits, err = pickRareWord(corpus); err != nil {
		return err
	}
	r.none = "zqxjkvw"
	if n := corpusCount(corpus, r.none); n != 0 {
		return fmt.Errorf("%q is in %d messages", r.none, n)
	}
	say("SEARCH TEXT %q: %d messages; %q: none", r.few, r.fewHits, r.none)

	for round := 1; round <= o.rounds; round++ {
		for _, s := range servers {
			say("round %d: %s", round, s.name)
			if err := session(o, s, r, len(corpus)); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
		}
	}
	if err := measureIdle(o, servers, r); err != nil {
		return err
	}
	r.loadAfter = loadAvg()
	r.write(os.Stdout)
	return nil
}

// session times, on one new connection, the FETCHes and then each SEARCH
// twice.
func session(o options, s *server, r *results, n int) error {
	rc, err := dialRaw(s.addr, o.user, o.pass, "INBOX")
	if err != nil {
		return err
	}
	defer rc.close()
	for i := 0; i <= o.warm; i++ {
		smp, err := timed(s, rc, fetchAll, n)
		if err != nil {
			return err
		}
		op := "fetch-warm"
		if i == 0 {
			op = "fetch-session"
		}
		r.add(s.name, op, smp)
	}
	for _, q := range []struct {
		op, word string
		want     int
	}{{"search-few", r.few, r.fewHits}, {"search-none", r.none, 0}} {
		for range 2 {
			smp, err := timed(s, rc, "SEARCH TEXT "+strconv.Quote(q.word), q.want)
			if err != nil {
				return err
			}
			r.add(s.name, q.op, smp)
		}
	}
	return nil
}
