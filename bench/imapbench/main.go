// Command imapbench measures Lightr's IMAP server beside Dovecot on the
// same machine, in the same run, over the same 10,000 messages (issue 4):
//
//   - UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE) on the selected INBOX:
//     the first one after loading, the first of a freshly started server,
//     the first of each new session and the ones after it (warm);
//   - SEARCH TEXT for a phrase in a few messages and for a word in none;
//   - the memory that 1,000 logged-in connections hold while they IDLE,
//     with INBOX selected in a small mailbox and in the 10,000-message one.
//
// It runs in two steps, which bench/imapbench/run.sh drives around
// restarts of both servers:
//
//	imapbench -mode load -mbox corpus.mbox -state state.json …
//	imapbench -mode measure -mbox corpus.mbox -state state.json … >report.md
//
// load APPENDs the corpus (make-mbox.py's mbox) over IMAP to
// bench@bench.test on both servers, and its first -small messages to
// bench1..bench10, times each server's first FETCH and checks that go-imap's
// parser reads the same envelopes and structures from both. measure runs
// the timed commands, alternating the servers round after round (ABAB),
// then the idle connections, and writes a Markdown report to stdout.
//
// The timed commands go through a raw client that reads every byte of the
// answer without parsing it (see rawConn). Server CPU comes from
// /proc/PID/stat over the server's whole process tree; memory from
// /proc/PID/smaps_rollup (RSS and PSS, summed over the tree, so over every
// Dovecot process) and, for Lightr, the go_* gauges of /metrics.
// Everything goes to loopback, and every command has a deadline.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// options are the command-line flags.
type options struct {
	mode, mbox, state, cold       string
	lightrAddr, lightrPID, metric string
	lightrFree                    string
	dovecotAddr, dovecotPID       string
	user, pass                    string
	small, rounds, warm           int
	idle, par                     int
	settle                        time.Duration
	idleCases                     string
}

// server is one IMAP server under test.
type server struct {
	name    string
	addr    string
	pidFile string // re-read each time: the servers restart between steps
	metrics string // Prometheus endpoint with go_* gauges, or empty
	free    string // lightrserve's /debug/free, or empty
}

func (s *server) pid() int {
	b, err := os.ReadFile(s.pidFile)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func main() {
	var o options
	flag.StringVar(&o.mode, "mode", "measure", "load, measure, cold or cold-report")
	flag.StringVar(&o.cold, "cold", "", "`file` of the cold samples, for -mode cold and cold-report")
	flag.StringVar(&o.mbox, "mbox", "", "the corpus, an mbox from make-mbox.py")
	flag.StringVar(&o.state, "state", "", "JSON `file` that load writes and measure reads")
	flag.StringVar(&o.lightrAddr, "lightr", "127.0.0.1:1143", "Lightr's IMAP address")
	flag.StringVar(&o.lightrPID, "lightr-pid", "", "`file` holding Lightr's PID")
	flag.StringVar(&o.metric, "lightr-metrics", "", "Lightr's /metrics URL")
	flag.StringVar(&o.lightrFree, "lightr-free", "",
		"lightrserve's /debug/free URL, to read memory after a collection")
	flag.StringVar(&o.dovecotAddr, "dovecot", "127.0.0.1:10143", "Dovecot's IMAP address")
	flag.StringVar(&o.dovecotPID, "dovecot-pid", "/tmp/lightr-peers/dovecot/run/master.pid",
		"`file` holding Dovecot's master PID")
	flag.StringVar(&o.user, "user", "bench@bench.test", "account holding the corpus")
	flag.StringVar(&o.pass, "pass", "benchpass", "password of every account")
	flag.IntVar(&o.small, "small", 20, "messages of each of bench1..bench10's INBOX")
	flag.IntVar(&o.rounds, "rounds", 5, "rounds of the timed commands, each server once a round")
	flag.IntVar(&o.warm, "warm", 3, "warm FETCHes per session after the first")
	flag.IntVar(&o.idle, "idle", 1000, "concurrent IDLE connections")
	flag.IntVar(&o.par, "par", 25, "connections set up at once")
	flag.DurationVar(&o.settle, "settle", 5*time.Second, "wait before measuring memory")
	flag.StringVar(&o.idleCases, "idle-cases", "small,10k", "mailboxes the idle connections select")
	flag.Parse()

	servers := []*server{
		{name: "lightr", addr: o.lightrAddr, pidFile: o.lightrPID, metrics: o.metric, free: o.lightrFree},
		{name: "dovecot", addr: o.dovecotAddr, pidFile: o.dovecotPID},
	}
	var err error
	switch o.mode {
	case "load":
		err = load(o, servers)
	case "measure":
		err = measure(o, servers)
	case "cold":
		var corpus []mail
		if corpus, err = readMbox(o.mbox); err == nil {
			err = cold(o, servers, len(corpus))
		}
	case "cold-report":
		err = coldReport(o, os.Stdout)
	default:
		err = fmt.Errorf("-mode %q: want load, measure, cold or cold-report", o.mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imapbench:", err)
		os.Exit(1)
	}
}

func say(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "imapbench: "+format+"\n", a...)
}

// smallUsers are the accounts with a small INBOX.
func smallUsers() []string {
	var u []string
	for i := 1; i <= 10; i++ {
		u = append(u, fmt.Sprintf("bench%d@bench.test", i))
	}
	return u
}

// state is what load hands to measure.
type state struct {
	Messages int
	Load     map[string]time.Duration // APPEND of the corpus
	First    map[string]sample        // first FETCH after loading
	Checked  int                      // messages compared
	Differ   int                      // of which described differently
	Example  string                   // the first difference
}

// load fills both servers and records their first FETCH.
func load(o options, servers []*server) error {
	corpus, err := readMbox(o.mbox)
	if err != nil {
		return err
	}
	st := state{Messages: len(corpus), Load: map[string]time.Duration{}, First: map[string]sample{}}
	for _, s := range servers {
		say("%s: APPEND %d messages", s.name, len(corpus))
		if st.Load[s.name], err = appendAll(s.addr, o.user, o.pass, corpus); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		for _, u := range smallUsers() {
			if _, err := appendAll(s.addr, u, o.pass, corpus[:min(o.small, len(corpus))]); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
		}
		say("%s: loaded in %v", s.name, st.Load[s.name].Round(time.Millisecond))
	}

	// The first FETCH after loading is where Dovecot builds its cache of
	// envelopes and structures; Lightr built its own at APPEND.
	for _, s := range servers {
		rc, err := dialRaw(s.addr, o.user, o.pass, "INBOX")
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		smp, err := timed(s, rc, fetchAll, len(corpus))
		rc.close()
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		st.First[s.name] = smp
		say("%s: first FETCH %v", s.name, smp.Wall.Round(time.Millisecond))
	}

	a, err := summaries(servers[0].addr, o.user, o.pass)
	if err != nil {
		return err
	}
	b, err := summaries(servers[1].addr, o.user, o.pass)
	if err != nil {
		return err
	}
	st.Checked = len(a)
	st.Differ, st.Example = compare(a, b)
	say("checked %d messages: %d differ %s", st.Checked, st.Differ, st.Example)
	out, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(o.state, out, 0o644)
}
