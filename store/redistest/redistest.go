// Package redistest starts Redis servers for tests and benchmarks.
//
// Real and Cluster start private redis-server processes on free loopback
// ports (never the system Redis on 6379), with no persistence and their data
// in tb.TempDir(); they are killed, and waited for, in tb.Cleanup. Mini starts
// an in-process miniredis.
//
// For failure tests, Restartable starts a redis-server that can be stopped
// and started again on the same address (Redis down), and NewProxy puts a TCP
// proxy in front of a server that can stall and reset connections (Redis
// slow or hanging).
//
// When no redis-server binary is on PATH, Real, Cluster and Restartable skip
// the test, unless the environment variable CI is true (CI=true or CI=1):
// then the real-Redis run is mandatory and the test fails.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

const (
	startAttempts = 5                      // new ports are tried when a port was taken meanwhile
	startTimeout  = 10 * time.Second       // until a server answers PING
	clusterWait   = 30 * time.Second       // until every node reports cluster_state:ok
	pollInterval  = 5 * time.Millisecond   // between readiness probes
	ioTimeout     = 2 * time.Second        // per command sent by this package
	logTail       = 8 << 10                // bytes of redis-server output shown on failure
	confFile      = "redis.conf"           // a server's config file in its dir, when it has one
	clusterSlots  = 16384                  // hash slots of a Redis Cluster
	probeTimeout  = 250 * time.Millisecond // per readiness probe (dial, then each command)
)

// Real starts a private redis-server on a free loopback port, with its data
// dir in tb.TempDir() and no persistence (--save "" --appendonly no), and
// stops it (and waits for the process) in tb.Cleanup. It returns
// "127.0.0.1:PORT". extraArgs are appended to the redis-server command line,
// so they override the defaults (e.g. "--maxmemory", "10mb").
//
// When no redis-server binary is on PATH it calls tb.Skip, except when the
// environment has CI=true, where it calls tb.Fatal.
func Real(tb testing.TB, extraArgs ...string) string {
	tb.Helper()
	bin := lookBinary(tb)
	return start(tb, bin, 1, "", func([]int) []string { return extraArgs }).addr
}

// Mini starts an in-process miniredis, closed in tb.Cleanup.
func Mini(tb testing.TB) *miniredis.Miniredis {
	tb.Helper()
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		tb.Fatalf("redistest: start miniredis: %v", err)
	}
	tb.Cleanup(m.Close)
	return m
}

// Cluster starts a 3-master Redis Cluster (redis-server --cluster-enabled yes
// on 3 free ports, slots assigned with CLUSTER ADDSLOTSRANGE and nodes joined
// with CLUSTER MEET, waiting until CLUSTER INFO says cluster_state:ok on every
// node) and returns the node addresses ("127.0.0.1:PORT"). It needs Redis 7.0
// or newer. Same skip/CI rule as Real.
func Cluster(tb testing.TB) []string {
	tb.Helper()
	bin := lookBinary(tb)

	// Each node gets two free ports: clients and the cluster bus (set with
	// --cluster-port, so PORT+10000 need not be free or below 65536).
	const n = 3
	nodes := make([]*server, n)
	for i := range nodes {
		nodes[i] = start(tb, bin, 2, "", func(p []int) []string {
			return []string{
				"--cluster-enabled", "yes",
				"--cluster-port", strconv.Itoa(p[1]),
				"--cluster-config-file", "nodes.conf",
				"--cluster-announce-ip", "127.0.0.1",
			}
		})
	}

	conns := make([]*respConn, n)
	for i, s := range nodes {
		c, err := dial(s.addr, ioTimeout)
		if err != nil {
			tb.Fatalf("redistest: cluster node %s: %v", s.addr, err)
		}
		defer c.Close()
		conns[i] = c
	}

	// Split the slots into 3 contiguous ranges, one per master.
	for i, c := range conns {
		lo, hi := i*clusterSlots/n, (i+1)*clusterSlots/n-1
		if _, err := c.do("CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(lo), strconv.Itoa(hi)); err != nil {
			tb.Fatalf("redistest: CLUSTER ADDSLOTSRANGE %d %d on %s: %v", lo, hi, nodes[i].addr, err)
		}
	}
	// Node 0 meets the others; gossip does the rest.
	for _, s := range nodes[1:] {
		if _, err := conns[0].do("CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(s.ports[0]), strconv.Itoa(s.ports[1])); err != nil {
			tb.Fatalf("redistest: CLUSTER MEET %s: %v", s.addr, err)
		}
	}

	// Wait until every node sees all 3 nodes and all slots served.
	deadline := time.Now().Add(clusterWait)
	infos := make([]string, n)
	for {
		ready := true
		for i, c := range conns {
			reply, err := c.do("CLUSTER", "INFO")
			if err != nil {
				tb.Fatalf("redistest: CLUSTER INFO on %s: %v", nodes[i].addr, err)
			}
			infos[i], _ = reply.(string)
			f := infoFields(infos[i])
			if f["cluster_state"] != "ok" || f["cluster_known_nodes"] != strconv.Itoa(n) || f["cluster_slots_ok"] != strconv.Itoa(clusterSlots) {
				ready = false
			}
		}
		if ready {
			break
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for i, s := range nodes {
				fmt.Fprintf(&b, "\n--- node %s CLUSTER INFO:\n%s\n--- node %s output:\n%s", s.addr, infos[i], s.addr, s.output())
			}
			tb.Fatalf("redistest: cluster not ok after %v:%s", clusterWait, b.String())
		}
		time.Sleep(pollInterval)
	}

	addrs := make([]string, n)
	for i, s := range nodes {
		addrs[i] = s.addr
	}
	return addrs
}

// lookBinary returns the path of redis-server, or skips (fails under CI) the test.
func lookBinary(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err == nil {
		return bin
	}
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		tb.Fatalf("redistest: redis-server not found on PATH (%v); the real-Redis tests are mandatory when CI=true: install it (Debian: apt-get install redis-server)", err)
	}
	tb.Skipf("redistest: redis-server not found on PATH (%v); skipping the real-Redis test (install redis-server to run it; with CI=true this is a failure)", err)
	return ""
}

// server is one running redis-server process.
type server struct {
	addr    string // 127.0.0.1:ports[0]
	ports   []int  // ports[0] for clients; more if asked for
	dir     string // --dir, also holding the log
	logPath string // redis-server stdout+stderr (its log)
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has been waited for
	once    sync.Once
}

// stop kills the process and waits for it; safe to call more than once.
func (s *server) stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Kill() // no persistence: nothing to flush
		<-s.done
	})
}

// output returns the tail of what redis-server printed.
func (s *server) output() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", s.logPath, err)
	}
	if len(b) > logTail {
		b = append([]byte("...\n"), b[len(b)-logTail:]...)
	}
	return string(b)
}

// start launches redis-server with nports fresh free ports (the first one is
// --port; extra(ports) adds more arguments), retrying with new ports when a
// port was taken between choosing and binding it. A conf that is not empty
// is written to the server's dir as its config file (which Sentinel needs,
// to record what it learns).
func start(tb testing.TB, bin string, nports int, conf string, extra func(ports []int) []string) *server {
	tb.Helper()
	base := tb.TempDir() // before our Cleanup, so it is removed after the kill
	var lastErr error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		ports, err := pickPorts(nports)
		if err != nil {
			tb.Fatalf("redistest: pick free ports: %v", err)
		}
		dir := filepath.Join(base, strconv.Itoa(attempt))
		if err := os.Mkdir(dir, 0o700); err != nil {
			tb.Fatalf("redistest: %v", err)
		}
		confPath := ""
		if conf != "" {
			confPath = filepath.Join(dir, confFile)
			if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
				tb.Fatalf("redistest: %v", err)
			}
		}
		s, portRace, err := launch(tb, bin, dir, confPath, ports, extra(ports))
		if err == nil {
			return s
		}
		if !portRace {
			tb.Fatal(err)
		}
		lastErr = err
	}
	tb.Fatalf("redistest: redis-server did not start in %d attempts; last: %v", startAttempts, lastErr)
	return nil
}

// launch starts one redis-server and waits until it answers PING. The
// process is killed in tb.Cleanup (registered right after the start, so also
// when the test fails or panics). portRace reports a failure worth retrying
// with other ports. conf, unless empty, is the config file's path.
func launch(tb testing.TB, bin, dir, conf string, ports []int, extra []string) (s *server, portRace bool, err error) {
	tb.Helper()
	var args []string
	if conf != "" {
		args = append(args, conf) // redis-server reads a config file only as its first argument
	}
	args = append(args,
		"--port", strconv.Itoa(ports[0]),
		"--bind", "127.0.0.1",
		"--protected-mode", "no",
		"--daemonize", "no",
		"--dir", dir,
		"--save", "",
		"--appendonly", "no",
		"--logfile", "", // log to stdout, captured below
	)
	args = append(args, extra...)

	s = &server{
		addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		ports:   ports,
		dir:     dir,
		logPath: filepath.Join(dir, "redis-server.log"),
		done:    make(chan struct{}),
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, false, fmt.Errorf("redistest: %v", err)
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = sysProcAttr() // Linux: killed if the test binary dies
	err = s.cmd.Start()
	logFile.Close() // the child has its own descriptor
	if err != nil {
		return nil, false, fmt.Errorf("redistest: start %s: %v", bin, err)
	}
	var waitErr error
	go func() { waitErr = s.cmd.Wait(); close(s.done) }()
	tb.Cleanup(s.stop)

	cmdline := bin + " " + strings.Join(args, " ")
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-s.done:
			out := s.output()
			return nil, strings.Contains(out, "Address already in use"),
				fmt.Errorf("redistest: redis-server exited before answering PING (%v)\ncommand: %s\noutput:\n%s", waitErr, cmdline, out)
		default:
		}
		pid, err := probe(s.addr)
		if err == nil {
			if pid == s.cmd.Process.Pid {
				return s, false, nil
			}
			// Another redis-server grabbed the port first; ours will fail to bind.
			s.stop()
			return nil, true, fmt.Errorf("redistest: port of %s taken by redis-server pid %d", s.addr, pid)
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, false, fmt.Errorf("redistest: redis-server at %s did not answer PING within %v (last error: %v)\ncommand: %s\noutput:\n%s",
				s.addr, startTimeout, err, cmdline, s.output())
		}
		time.Sleep(pollInterval)
	}
}

// probe sends PING to addr and returns the server's process_id (INFO server).
func probe(addr string) (int, error) {
	c, err := dial(addr, probeTimeout)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	reply, err := c.do("PING")
	if err != nil {
		return 0, err
	}
	if reply != "PONG" {
		return 0, fmt.Errorf("PING replied %q", reply)
	}
	reply, err = c.do("INFO", "server")
	if err != nil {
		return 0, err
	}
	info, _ := reply.(string)
	pid, err := strconv.Atoi(infoFields(info)["process_id"])
	if err != nil {
		return 0, fmt.Errorf("no process_id in INFO server")
	}
	return pid, nil
}

// pickPorts is freePorts; tests replace it to provoke port races.
var pickPorts = freePorts

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close() // held until all are chosen, so they differ
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// infoFields parses "key:value" lines of INFO / CLUSTER INFO.
func infoFields(info string) map[string]string {
	m := make(map[string]string)
	for line := range strings.Lines(info) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = v
		}
	}
	return m
}

// respConn is a minimal RESP2 client for setting up servers (no retries, no
// handshake, no logging, unlike a full client).
type respConn struct {
	c       net.Conn
	r       *bufio.Reader
	timeout time.Duration // per command
}

// serverError is an error reply ("-ERR ...") from Redis.
type serverError string

func (e serverError) Error() string { return string(e) }

// dial connects to addr; timeout bounds the dial and each command.
func dial(addr string, timeout time.Duration) (*respConn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return &respConn{c: c, r: bufio.NewReader(c), timeout: timeout}, nil
}

func (c *respConn) Close() error { return c.c.Close() }

// do sends a command and returns its reply: string (simple or bulk), nil,
// int64 or []any; an error reply is returned as a serverError.
func (c *respConn) do(args ...string) (any, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if err := c.c.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return nil, err
	}
	if _, err := io.WriteString(c.c, b.String()); err != nil {
		return nil, err
	}
	return c.read()
}

func (c *respConn) read() (any, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty RESP line")
	}
	body := line[1:]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, serverError(body)
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err // nil bulk string: ($-1)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err
		}
		items := make([]any, n)
		for i := range items {
			if items[i], err = c.read(); err != nil {
				return nil, err
			}
		}
		return items, nil
	}
	return nil, fmt.Errorf("unexpected RESP reply %q", line)
}
