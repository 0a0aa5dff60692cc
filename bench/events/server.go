package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is a running `lightr serve` on a fresh data directory.
type server struct {
	bin, conf, dir string
	addr           string // HTTP, 127.0.0.1:port
	token          string // the organization's JWT
	cmd            *exec.Cmd
	// profserve, when set, is bench/smtpaccept/profserve, run instead of
	// `lightr serve` to write a CPU profile to profile.
	profserve, profile string
	done               chan error
}

// setup initializes a data directory in dir with `lightr init`, one
// organization, the domain bench.test and the account bench@bench.test,
// and gets a token for the organization, all through the CLI.
func setup(bin, dir string) (*server, error) {
	s := &server{bin: bin, conf: filepath.Join(dir, "lightr.yaml"), dir: dir}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s.addr = "127.0.0.1:" + strconv.Itoa(port)
	if _, err := s.cli("init", "--data-dir", filepath.Join(dir, "data"), "--http-addr", s.addr); err != nil {
		return nil, err
	}
	org, err := s.cli("add-org", "--name", "Bench")
	if err != nil {
		return nil, err
	}
	if _, err := s.cli("add-domain", "--org", org, "--name", "bench.test"); err != nil {
		return nil, err
	}
	if _, err := s.cli("add-account", "--domain", "bench.test", "--email", "bench@bench.test"); err != nil {
		return nil, err
	}
	if s.token, err = s.cli("token", "--org", org, "--ttl", "6h"); err != nil {
		return nil, err
	}
	return s, nil
}

// env is the environment of every lightr command: listeners other than
// HTTP on free loopback ports, DNS to a port where nothing listens (all
// mail here is local), and room for subs subscribers in the organization.
func (s *server) env(subs int) []string {
	return append(os.Environ(),
		"LIGHTR_HTTP_ADDR="+s.addr,
		"LIGHTR_SMTP_ADDR=127.0.0.1:0", "LIGHTR_IMAP_ADDR=127.0.0.1:0",
		"LIGHTR_SUBMISSION_ADDR=127.0.0.1:0", "LIGHTR_SUBMISSION_TLS_ADDR=127.0.0.1:0",
		"LIGHTR_DNS_RESOLVER=127.0.0.1:9", "LIGHTR_LOG_LEVEL=warn",
		"LIGHTR_SUBSCRIPTIONS_MAX_PER_ORGANIZATION="+strconv.Itoa(subs+10),
		// One subscription per connection here; the default (20) would do.
		"LIGHTR_SUBSCRIPTIONS_MAX_PER_CONNECTION=20",
	)
}

// cli runs a lightr subcommand and returns its trimmed stdout.
func (s *server) cli(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, append([]string{"--config", s.conf}, args...)...)
	cmd.Env = s.env(0)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("lightr %s: %w: %s", args[0], err, errb.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// start runs `lightr serve` and waits until its HTTP port answers.
func (s *server) start(subs int) error {
	s.cmd = exec.Command(s.bin, "--config", s.conf, "serve")
	if s.profserve != "" {
		s.cmd = exec.Command(s.profserve, "-config", s.conf, "-cpuprofile", s.profile)
	}
	s.cmd.Env = s.env(subs)
	logf, err := os.Create(filepath.Join(s.dir, "serve.log"))
	if err != nil {
		return err
	}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait(); _ = logf.Close() }()
	for range 200 {
		if c, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case err := <-s.done:
			return fmt.Errorf("lightr serve exited: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("nothing listens on %s", s.addr)
}

// stop ends the server with SIGINT, as an operator would.
func (s *server) stop() error {
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-s.done:
		return err
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		return fmt.Errorf("lightr serve did not stop within 20s of SIGINT")
	}
}

// procStat is a process's CPU time and memory from /proc.
type procStat struct {
	CPU      time.Duration // utime + stime
	RSS, HWM int64         // VmRSS and VmHWM (peak RSS), bytes
}

func readProc(pid int) (procStat, error) {
	var p procStat
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return p, err
	}
	// Fields after the command name, which is in parentheses: utime is
	// the 14th field of the line, stime the 15th (proc(5)).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // CLK_TCK on Linux amd64
	p.CPU = time.Duration(ut+st) * time.Second / hz
	fh, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return p, err
	}
	defer func() { _ = fh.Close() }()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			p.RSS = kb << 10
		case "VmHWM":
			p.HWM = kb << 10
		}
	}
	return p, sc.Err()
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// cpuPressure is the time some task on the machine waited for a CPU
// (/proc/pressure/cpu, "some total", in µs), or 0 without PSI.
func cpuPressure() time.Duration {
	b, _ := os.ReadFile("/proc/pressure/cpu")
	line, _, _ := strings.Cut(string(b), "\n")
	_, total, _ := strings.Cut(line, "total=")
	us, _ := strconv.ParseInt(strings.TrimSpace(total), 10, 64)
	return time.Duration(us) * time.Microsecond
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
