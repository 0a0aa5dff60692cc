package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// write prints the report as Markdown.
func (r *results) write(w io.Writer) {
	p := func(format string, a ...any) { _, _ = fmt.Fprintf(w, format+"\n", a...) }
	o := r.opts
	p("imapbench, code %s, %s, %s", revision(), runtime.Version(), dovecotVersion())
	p("machine: %d cores, %s; load average %s before, %s after", runtime.NumCPU(), cpuModel(),
		r.loadBefore, r.loadAfter)
	p("corpus: %d messages; SEARCH TEXT %q is in %d, %q in none; %d rounds, %d warm FETCHes a session",
		r.st.Messages, r.few, r.fewHits, r.none, o.rounds, o.warm)
	p("loading by APPEND: %s; check: %d messages read back with go-imap, %d described differently %s",
		joinServers(func(s string) string { return r.st.Load[s].Round(time.Second).String() }),
		r.st.Checked, r.st.Differ, r.st.Example)
	p("")
	p("| Operation | Lightr ms | Dovecot ms | Lightr/Dovecot | Lightr CPU ms | Dovecot CPU ms | Samples |")
	p("|---|--:|--:|--:|--:|--:|--:|")
	row := func(name string, l, d []sample) {
		if len(l) == 0 || len(d) == 0 {
			return
		}
		lw, dw := median(l, wallOf), median(d, wallOf)
		p("| %s | %s | %s | %.2f | %s | %s | %d |", name, ms(lw), ms(dw), float64(lw)/float64(dw),
			ms(median(l, cpuOf)), ms(median(d, cpuOf)), len(l))
	}
	L, D := r.samples["lightr"], r.samples["dovecot"]
	row("FETCH, first after loading", one(r.st.First["lightr"]), one(r.st.First["dovecot"]))
	row("FETCH, first of a started server", first(L["fetch-session"]), first(D["fetch-session"]))
	row("FETCH, first of a session", rest(L["fetch-session"]), rest(D["fetch-session"]))
	row("FETCH, warm", L["fetch-warm"], D["fetch-warm"])
	row("SEARCH TEXT, a few hits", L["search-few"], D["search-few"])
	row("SEARCH TEXT, no hit", L["search-none"], D["search-none"])
	if f := L["fetch-warm"]; len(f) > 0 {
		p("")
		p("FETCH answer: Lightr %d bytes, Dovecot %d bytes", f[0].Bytes, D["fetch-warm"][0].Bytes)
	}
	p("")
	r.writeIdle(p)
	p("")
	p("raw samples (wall ms / server CPU ms):")
	for _, s := range []string{"lightr", "dovecot"} {
		ops := make([]string, 0, len(r.samples[s]))
		for op := range r.samples[s] {
			ops = append(ops, op)
		}
		slices.Sort(ops)
		for _, op := range ops {
			var b strings.Builder
			for _, x := range r.samples[s][op] {
				fmt.Fprintf(&b, " %s/%s", ms(x.Wall), ms(x.CPU))
			}
			p("- %s %s:%s", s, op, b.String())
		}
	}
}

// writeIdle prints the memory of the idle connections.
func (r *results) writeIdle(p func(string, ...any)) {
	p("| Server | INBOX | Connections | Processes | RSS MiB before → with | PSS MiB before → with |" +
		" RSS KiB/conn | PSS KiB/conn | PSS KiB/conn after GC | Set-up s (server CPU s) |")
	p("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, x := range r.idle {
		n := float64(x.conns)
		p("| %s | %s | %d | %d → %d | %.1f → %.1f | %.1f → %.1f | %.1f | %.1f | %.1f | %.1f (%.1f) |",
			x.server, x.mailbox, x.conns, x.before.procs, x.after.procs,
			mib(x.before.rss), mib(x.after.rss), mib(x.before.pss), mib(x.after.pss),
			float64(x.after.rss-x.before.rss)/n, float64(x.after.pss-x.before.pss)/n,
			float64(x.freedAfter.pss-x.freedBefore.pss)/n, x.setup.Seconds(), x.setupCPU.Seconds())
	}
	for _, x := range r.idle {
		if x.goAfter == nil {
			continue
		}
		n := float64(x.conns)
		d := func(k string) float64 { return (x.goAfter[k] - x.goBefore[k]) / n / 1024 }
		p("")
		p("%s, %s INBOX, after a collection, per connection: heap in use %.1f KiB, stacks %.1f KiB, "+
			"from the OS (go_memstats_sys) %.1f KiB, goroutines %.1f; PSS %.1f → %.1f MiB", x.server, x.mailbox,
			d("go_memstats_heap_inuse_bytes"), d("go_memstats_stack_inuse_bytes"),
			d("go_memstats_sys_bytes"), (x.goAfter["go_goroutines"]-x.goBefore["go_goroutines"])/n,
			mib(x.freedBefore.pss), mib(x.freedAfter.pss))
	}
}

func one(s sample) []sample {
	if s.Wall == 0 {
		return nil
	}
	return []sample{s}
}

func first(s []sample) []sample { return s[:min(1, len(s))] }

func rest(s []sample) []sample { return s[min(1, len(s)):] }

func wallOf(s sample) time.Duration { return s.Wall }
func cpuOf(s sample) time.Duration  { return s.CPU }

func median(s []sample, f func(sample) time.Duration) time.Duration {
	v := make([]time.Duration, len(s))
	for i, x := range s {
		v[i] = f(x)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)) }

func mib(kib int64) float64 { return float64(kib) / 1024 }

func joinServers(f func(string) string) string {
	return "Lightr " + f("lightr") + ", Dovecot " + f("dovecot")
}

func revision() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	// Uncommitted or untracked code of the servers marks the figures.
	if st, _ := exec.Command("git", "status", "--porcelain", "--", "server", "mail").Output(); len(st) > 0 {
		rev += "+changes"
	}
	return rev
}

func dovecotVersion() string {
	out, err := exec.Command("dovecot", "--version").Output()
	if err != nil {
		return "dovecot ?"
	}
	return "dovecot " + strings.TrimSpace(string(out))
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
