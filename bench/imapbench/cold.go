package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// coldSample is one FETCH 1:* on a freshly started server, as -mode cold
// appends it to the -cold file.
type coldSample struct {
	Server string
	Sample sample
}

// cold times the first FETCH 1:* of each server, which run.sh has just
// restarted, and appends the samples to o.cold: one round of the
// "first FETCH of a started server" figure, which the measure mode takes
// only once.
func cold(o options, servers []*server, n int) error {
	f, err := os.OpenFile(o.cold, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	time.Sleep(time.Second) // both servers settle after their start
	for _, s := range servers {
		rc, err := dialRaw(s.addr, o.user, o.pass, "INBOX")
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		smp, err := timed(s, rc, fetchAll, n)
		rc.close()
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		say("cold: %s %v", s.name, smp.Wall.Round(time.Millisecond))
		if err := json.NewEncoder(f).Encode(coldSample{s.name, smp}); err != nil {
			return err
		}
	}
	return nil
}

// coldReport writes the medians of the -cold file's samples.
func coldReport(o options, w io.Writer) error {
	f, err := os.Open(o.cold)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	by := map[string][]sample{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var c coldSample
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return err
		}
		if by[c.Server] == nil {
			order = append(order, c.Server)
		}
		by[c.Server] = append(by[c.Server], c.Sample)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(order) != 2 {
		return fmt.Errorf("%s: samples of %d servers", o.cold, len(order))
	}
	a, b := by[order[0]], by[order[1]]
	fmt.Fprintf(w, "\nFirst FETCH of a freshly started server, %d restarts of both (medians):\n\n", len(a))
	fmt.Fprintf(w, "| Operation | %s ms | %s ms | %s/%s | %s CPU ms | %s CPU ms |\n",
		order[0], order[1], order[0], order[1], order[0], order[1])
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|")
	wa, wb := median(a, wallOf), median(b, wallOf)
	fmt.Fprintf(w, "| FETCH, first of a started server | %s | %s | %.2f | %s | %s |\n",
		ms(wa), ms(wb), float64(wa)/float64(wb), ms(median(a, cpuOf)), ms(median(b, cpuOf)))
	for _, name := range order {
		var s []string
		for _, smp := range by[name] {
			s = append(s, ms(smp.Wall)+"/"+ms(smp.CPU))
		}
		fmt.Fprintf(w, "- %s: %s\n", name, strings.Join(s, " "))
	}
	return nil
}
