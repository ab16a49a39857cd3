package redistest

import (
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"
)

const (
	sentinelWait = 30 * time.Second // until sentinels see the replica, or agree on a new primary
	// MasterName is the name under which Sentinel's sentinels monitor the primary.
	MasterName = "mymaster"
)

// Sentinels is a primary with replicas, monitored by Redis Sentinel under
// MasterName: private redis-server processes like Real's (free loopback
// ports, no persistence), killed and waited for in tb.Cleanup.
type Sentinels struct {
	tb testing.TB
	// Addrs are the sentinels' addresses ("127.0.0.1:PORT").
	Addrs []string
	// Servers are the primary's and the replicas' addresses, the primary
	// first, as they were started; which one is the primary now, Primary
	// tells.
	Servers []string
}

// Sentinel starts a primary, replicas of it (--replicaof) and sentinels
// (redis-server sentinel.conf --sentinel) that monitor the primary with a
// quorum of 1, a down-after-milliseconds of 1 s and a failover-timeout of
// 10 s, and waits until every sentinel knows every replica as a healthy
// candidate for a failover. Same skip/CI rule as Real.
func Sentinel(tb testing.TB, replicas, sentinels int) *Sentinels {
	tb.Helper()
	bin := lookBinary(tb)
	// Diskless full syncs start at once (the default waits 5 s for more
	// replicas), on every server: after a failover the others sync from
	// the new primary.
	fast := func([]int) []string { return []string{"--repl-diskless-sync-delay", "0"} }
	primary := start(tb, bin, 1, "", fast)
	s := &Sentinels{tb: tb, Servers: []string{primary.addr}}
	for range replicas {
		r := start(tb, bin, 1, "", func(p []int) []string {
			return append(fast(p), "--replicaof", "127.0.0.1", strconv.Itoa(primary.ports[0]))
		})
		if err := waitFor(sentinelWait, func() error { return replicaUp(r.addr, primary.addr) }); err != nil {
			tb.Fatalf("redistest: replica %s: %v\n--- replica output:\n%s", r.addr, err, r.output())
		}
		s.Servers = append(s.Servers, r.addr)
	}

	conf := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d 1\n"+
		"sentinel down-after-milliseconds %[1]s 1000\n"+
		"sentinel failover-timeout %[1]s 10000\n", MasterName, primary.ports[0])
	for range sentinels {
		sn := start(tb, bin, 1, conf, func([]int) []string { return []string{"--sentinel"} })
		for _, r := range s.Servers[1:] {
			if err := waitFor(sentinelWait, func() error { return sentinelSeesReplica(sn.addr, r) }); err != nil {
				tb.Fatalf("redistest: sentinel %s: %v\n--- sentinel output:\n%s", sn.addr, err, sn.output())
			}
		}
		s.Addrs = append(s.Addrs, sn.addr)
	}
	return s
}

// Primary returns the address of the primary as the first sentinel
// reports it (SENTINEL GET-MASTER-ADDR-BY-NAME).
func (s *Sentinels) Primary() string {
	s.tb.Helper()
	addr, err := masterAddr(s.Addrs[0])
	if err != nil {
		s.tb.Fatalf("redistest: sentinel %s: %v", s.Addrs[0], err)
	}
	return addr
}

// Failover makes the first sentinel promote a replica (SENTINEL FAILOVER,
// which does not wait for the primary to fail), waits until every sentinel
// names the same new primary and it says role:master, and returns its
// address. The old primary is turned into a replica of the new one by the
// sentinels some seconds later (about 10 s); Failover does not wait for it.
func (s *Sentinels) Failover() string {
	s.tb.Helper()
	old := s.Primary()
	c, err := dial(s.Addrs[0], ioTimeout)
	if err != nil {
		s.tb.Fatalf("redistest: sentinel %s: %v", s.Addrs[0], err)
	}
	defer c.Close()
	if _, err := c.do("SENTINEL", "FAILOVER", MasterName); err != nil {
		s.tb.Fatalf("redistest: SENTINEL FAILOVER %s on %s: %v", MasterName, s.Addrs[0], err)
	}
	var next string
	err = waitFor(sentinelWait, func() error {
		for i, a := range s.Addrs {
			got, err := masterAddr(a)
			if err != nil {
				return fmt.Errorf("sentinel %s: %v", a, err)
			}
			if i == 0 {
				next = got
			}
			if got == old || got != next {
				return fmt.Errorf("sentinel %s names %s as the primary (first sentinel: %s, old: %s)", a, got, next, old)
			}
		}
		f, err := infoOf(next, "replication")
		if err != nil {
			return err
		}
		if f["role"] != "master" {
			return fmt.Errorf("%s has role %q", next, f["role"])
		}
		return nil
	})
	if err != nil {
		s.tb.Fatalf("redistest: failover from %s: %v", old, err)
	}
	return next
}

// replicaUp reports, as an error, why addr is not yet a replica of primary
// in sync.
func replicaUp(addr, primary string) error {
	f, err := infoOf(addr, "replication")
	if err != nil {
		return err
	}
	if got := net.JoinHostPort(f["master_host"], f["master_port"]); f["role"] != "slave" || got != primary || f["master_link_status"] != "up" {
		return fmt.Errorf("role %q of %s, link %q; want a replica of %s with its link up", f["role"], got, f["master_link_status"], primary)
	}
	return nil
}

// sentinelSeesReplica reports, as an error, why the sentinel at addr does
// not yet list replica as a healthy replica of MasterName.
func sentinelSeesReplica(addr, replica string) error {
	c, err := dial(addr, ioTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	reply, err := c.do("SENTINEL", "REPLICAS", MasterName)
	if err != nil {
		return err
	}
	list, _ := reply.([]any)
	for _, r := range list {
		f := pairs(r)
		if net.JoinHostPort(f["ip"], f["port"]) != replica {
			continue
		}
		if f["flags"] != "slave" || f["master-link-status"] != "ok" {
			return fmt.Errorf("replica %s has flags %q, master link %q", replica, f["flags"], f["master-link-status"])
		}
		return nil
	}
	return fmt.Errorf("replica %s not known yet", replica)
}

// masterAddr asks the sentinel at addr for MasterName's primary.
func masterAddr(addr string) (string, error) {
	c, err := dial(addr, ioTimeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	reply, err := c.do("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MasterName)
	if err != nil {
		return "", err
	}
	hp, _ := reply.([]any)
	if len(hp) != 2 {
		return "", fmt.Errorf("SENTINEL GET-MASTER-ADDR-BY-NAME %s replied %v", MasterName, reply)
	}
	host, _ := hp[0].(string)
	port, _ := hp[1].(string)
	return net.JoinHostPort(host, port), nil
}

// infoOf returns the fields of INFO section on the server at addr.
func infoOf(addr, section string) (map[string]string, error) {
	c, err := dial(addr, ioTimeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	reply, err := c.do("INFO", section)
	if err != nil {
		return nil, err
	}
	info, _ := reply.(string)
	return infoFields(info), nil
}

// pairs turns a flat array reply of names and values into a map.
func pairs(reply any) map[string]string {
	list, _ := reply.([]any)
	m := make(map[string]string, len(list)/2)
	for i := 0; i+1 < len(list); i += 2 {
		k, _ := list[i].(string)
		v, _ := list[i+1].(string)
		m[k] = v
	}
	return m
}

// waitFor polls cond until it returns nil, and returns its last error
// after timeout.
func waitFor(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", timeout, err)
		}
		time.Sleep(10 * pollInterval)
	}
}
