package main

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// idler is one connection that has logged in, selected and is idling.
type idler struct {
	c    *imapclient.Client
	idle *imapclient.IdleCommand
}

// openIdlers opens n connections to addr that log in as users (round
// robin), select INBOX and IDLE, setting up at most par at a time. The
// connections come from the loopback addresses 127.0.0.2 to 127.0.0.5, so
// that no per-address limit of either server (Dovecot's
// mail_max_userip_connections is 1,000) is what the benchmark measures.
func openIdlers(addr string, users []string, pass string, n, par int) ([]*idler, error) {
	out := make([]*idler, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			id, err := openIdler(addr, users[i%len(users)], pass, net.IPv4(127, 0, 0, byte(2+i%4)))
			if err != nil {
				errs <- fmt.Errorf("idle connection %d: %w", i, err)
				return
			}
			out[i] = id
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		closeIdlers(out, par)
		return nil, err
	}
	return out, nil
}

func openIdler(addr, user, pass string, from net.IP) (*idler, error) {
	d := net.Dialer{Timeout: 30 * time.Second, LocalAddr: &net.TCPAddr{IP: from}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := imapclient.New(conn, nil)
	if err := c.Login(user, pass).Wait(); err != nil {
		_ = c.Close()
		return nil, err
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		_ = c.Close()
		return nil, err
	}
	idle, err := c.Idle()
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return &idler{c: c, idle: idle}, nil
}

// closeIdlers ends IDLE, logs out and closes every connection.
func closeIdlers(ids []*idler, par int) {
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for _, id := range ids {
		if id == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_ = id.idle.Close()
			_ = id.idle.Wait()
			_ = id.c.Logout().Wait()
			_ = id.c.Close()
		}()
	}
	wg.Wait()
}
