package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// idleResult is the memory of one server before and with the idle
// connections.
type idleResult struct {
	server, mailbox string
	conns           int
	setup           time.Duration // opening every connection
	setupCPU        time.Duration // the server's, meanwhile
	// before and after are as the server holds them; freedBefore and
	// freedAfter after Lightr collected and returned freed memory to the
	// system (the same as before and after for Dovecot).
	before, after           memory
	freedBefore, freedAfter memory
	goBefore, goAfter       map[string]float64 // after the collection
}

// measureIdle opens the idle connections on each server in turn, for
// each mailbox case, and records the server's memory with none and with
// all of them open.
func measureIdle(o options, servers []*server, r *results) error {
	// Lightr remembers a checked password for a while (the argon2id check
	// takes 64 MiB), so the baseline includes one login per account; the
	// idle logins then cost what a client's routine login costs.
	for _, s := range servers {
		for _, u := range append(smallUsers(), o.user) {
			rc, err := dialRaw(s.addr, u, o.pass, "")
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			rc.close()
		}
	}
	for _, c := range strings.Split(o.idleCases, ",") {
		users := smallUsers()
		if c == "10k" {
			users = []string{o.user}
		}
		for _, s := range servers {
			res, err := idleOnce(o, s, users)
			if err != nil {
				return fmt.Errorf("%s, %s: %w", s.name, c, err)
			}
			res.mailbox = c
			r.idle = append(r.idle, res)
		}
	}
	return nil
}

func idleOnce(o options, s *server, users []string) (idleResult, error) {
	pid := s.pid()
	quiet(pid)
	res := idleResult{server: s.name, conns: o.idle}
	res.before = treeMemory(pid)
	res.freedBefore = s.freeMemory(pid)
	res.goBefore, _ = goMetrics(s.metrics)

	say("%s: %d idle connections as %s…", s.name, o.idle, users[0])
	c0, t0 := cpu(pid), time.Now()
	ids, err := openIdlers(s.addr, users, o.pass, o.idle, o.par)
	if err != nil {
		return res, err
	}
	res.setup, res.setupCPU = time.Since(t0), cpu(pid)-c0
	time.Sleep(o.settle)
	res.after = treeMemory(pid)
	res.freedAfter = s.freeMemory(pid)
	res.goAfter, _ = goMetrics(s.metrics)
	say("%s: %d processes, PSS %d → %d KiB (after a collection %d → %d)", s.name, res.after.procs,
		res.before.pss, res.after.pss, res.freedBefore.pss, res.freedAfter.pss)
	closeIdlers(ids, o.par)
	return res, nil
}

// quiet waits, up to a minute, until pid's process tree has stopped
// shrinking: Dovecot's imap processes of closed connections take a moment
// to exit.
func quiet(pid int) {
	last := len(tree(pid))
	for range 60 {
		time.Sleep(time.Second)
		n := len(tree(pid))
		if n == last {
			return
		}
		last = n
	}
}

// freeMemory asks the server to collect and return freed memory, when it
// can (lightrserve's /debug/free), and returns its memory then.
func (s *server) freeMemory(pid int) memory {
	if s.free != "" {
		c := &http.Client{Timeout: time.Minute}
		if resp, err := c.Post(s.free, "", nil); err == nil {
			resp.Body.Close()
		} else {
			say("%s: %v", s.name, err)
		}
	}
	return treeMemory(pid)
}
