package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// errNoWrk is returned when -wrk=on and wrk is not installed.
var errNoWrk = errors.New("graphqlread: wrk not found in PATH (Debian: apt-get install wrk)")

// findWrk returns the wrk binary to use, or "" to skip the cross-check.
func findWrk(mode string) (string, error) {
	switch mode {
	case "off":
		return "", nil
	case "on", "auto":
		path, err := exec.LookPath("wrk")
		if err != nil && mode == "on" {
			return "", errNoWrk
		}
		return path, nil
	}
	return "", fmt.Errorf("graphqlread: -wrk must be auto, on or off, not %q", mode)
}

// wrkMarker starts the line that the script's done hook prints.
const wrkMarker = "LIGHTR_BENCH"

// wrkScript sets the method, headers and body of every request, and prints
// the figures in one line that runWrk parses, latencies in microseconds.
const wrkScript = `wrk.method = %q
wrk.headers["Authorization"] = "Bearer %s"
%s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("` + wrkMarker + ` %%d %%d %%d %%d %%d %%d %%d %%d %%d\n",
    summary.requests, summary.duration, summary.bytes,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
`

// writeWrkScript writes the Lua script of t into dir.
func writeWrkScript(dir string, t *target) (string, error) {
	var body string
	if t.body != nil {
		// A Lua long string takes the JSON verbatim.
		body = "wrk.headers[\"Content-Type\"] = \"application/json\"\n" +
			"wrk.body = [==[" + string(t.body) + "]==]"
	}
	path := filepath.Join(dir, "wrk-"+t.name+".lua")
	script := fmt.Sprintf(wrkScript, t.method, t.token, body)
	return path, os.WriteFile(path, []byte(script), 0o600)
}

// wrkResult is what one wrk run reports.
type wrkResult struct {
	target             string
	round              int
	requests           int64
	elapsed            time.Duration
	bytes              int64 // status line, headers and body
	ioErrs, statusErrs int64
	p50, p90, p99, max time.Duration
	cpu                time.Duration // the servers' CPU time during the run
}

func (r *wrkResult) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// runWrk loads t with wrk in a separate process: as many threads as cores
// (at most clients), clients connections, for d.
func runWrk(ctx context.Context, bin, script string, t *target, clients int,
	d time.Duration) (*wrkResult, error) {
	threads := min(runtime.NumCPU(), clients)
	secs := max(int(d.Round(time.Second)/time.Second), 1)
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"-t", fmt.Sprint(threads), "-c", fmt.Sprint(clients), "-d", fmt.Sprintf("%ds", secs),
		"--timeout", "10s", "-s", script, t.url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cpu0 := cpuTime()
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("wrk %s: %w: %s", t.name, err, stderr.Bytes())
	}
	r, err := parseWrk(t.name, out)
	if err != nil {
		return nil, err
	}
	r.cpu = cpuTime() - cpu0
	return r, nil
}

// parseWrk reads the line that the script's done hook printed.
func parseWrk(name string, out []byte) (*wrkResult, error) {
	for line := range strings.Lines(string(out)) {
		rest, ok := strings.CutPrefix(line, wrkMarker+" ")
		if !ok {
			continue
		}
		var (
			r                        = &wrkResult{target: name}
			usecs, p50, p90, p99, mx int64
		)
		_, err := fmt.Sscan(rest, &r.requests, &usecs, &r.bytes, &r.ioErrs, &r.statusErrs,
			&p50, &p90, &p99, &mx)
		if err != nil {
			return nil, fmt.Errorf("wrk %s: parse %q: %w", name, line, err)
		}
		r.elapsed = time.Duration(usecs) * time.Microsecond
		r.p50, r.p90 = time.Duration(p50)*time.Microsecond, time.Duration(p90)*time.Microsecond
		r.p99, r.max = time.Duration(p99)*time.Microsecond, time.Duration(mx)*time.Microsecond
		if r.requests == 0 || r.elapsed <= 0 {
			return nil, fmt.Errorf("wrk %s: no requests completed:\n%s", name, out)
		}
		return r, nil
	}
	return nil, fmt.Errorf("wrk %s: no %s line in its output:\n%s", name, wrkMarker, out)
}
