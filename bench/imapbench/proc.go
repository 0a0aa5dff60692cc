package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's CPU times, which is
// 100 on every Linux this runs on.
const clockTicks = 100

// tree returns pid and all its descendants.
func tree(pid int) []int {
	parent := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(p); err == nil {
			parent[st.ppid] = append(parent[st.ppid], p)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, parent[out[i]]...)
	}
	return out
}

type stat struct {
	ppid  int
	ticks int64 // utime+stime+cutime+cstime: reaped children count too
}

func readStat(pid int) (stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, err
	}
	// The command name may hold spaces; the fields after it do not.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 15 {
		return stat{}, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ppid, _ := strconv.Atoi(f[1])
	var t int64
	for _, i := range []int{11, 12, 13, 14} {
		v, _ := strconv.ParseInt(f[i], 10, 64)
		t += v
	}
	return stat{ppid: ppid, ticks: t}, nil
}

// cpu returns the CPU time of pid's process tree, the reaped processes
// included through their parents' cutime and cstime.
func cpu(pid int) time.Duration {
	var t int64
	for _, p := range tree(pid) {
		if st, err := readStat(p); err == nil {
			t += st.ticks
		}
	}
	return time.Duration(t) * time.Second / clockTicks
}

// memory is the resident memory of a process tree, in KiB.
type memory struct {
	procs    int
	rss, pss int64
}

// treeMemory sums RSS and PSS over pid's tree. RSS counts a page shared
// by n processes n times; PSS counts 1/n of it in each, so the PSS sum is
// what the tree really holds.
func treeMemory(pid int) memory {
	var m memory
	for _, p := range tree(pid) {
		f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", p))
		if err != nil {
			continue
		}
		m.procs++
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			switch k {
			case "Rss":
				m.rss += n
			case "Pss":
				m.pss += n
			}
		}
		_ = f.Close() // read only: nothing to lose
	}
	return m
}

// goMetrics reads the go_* gauges from a Prometheus text endpoint.
func goMetrics(url string) (map[string]float64, error) {
	if url == "" {
		return nil, nil
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "go_") || strings.Contains(l, "{") {
			continue
		}
		name, val, ok := strings.Cut(l, " ")
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(val, 64); err == nil {
			out[name] = v
		}
	}
	return out, nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
