package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// errNotLoopback refuses a target off this machine.
var errNotLoopback = errors.New("only loopback targets are allowed (127.0.0.0/8, ::1, localhost)")

// loopbackURL checks that u is an http(s) URL of this machine and returns
// it without a trailing slash. Names other than "localhost" are refused
// rather than resolved.
func loopbackURL(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("url %q: %w", u, err)
	}
	if p.Scheme != "http" && p.Scheme != "https" {
		return "", fmt.Errorf("url %q: want http or https", u)
	}
	if p.User != nil || p.RawQuery != "" || p.Fragment != "" {
		return "", fmt.Errorf("url %q: want scheme://host[:port][/path] only", u)
	}
	if !isLoopbackHost(p.Hostname()) {
		return "", fmt.Errorf("url %q: %w", u, errNotLoopback)
	}
	return strings.TrimRight(p.String(), "/"), nil
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// loopbackClient is an HTTP client that can only reach loopback addresses:
// no proxy, no redirects, and a dialer that checks the address it connects
// to (so that "localhost" cannot resolve elsewhere).
func loopbackClient(conns int, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if ta, ok := c.RemoteAddr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
				c.Close()
				return nil, fmt.Errorf("dial %s: %w", addr, errNotLoopback)
			}
			return c, nil
		},
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		IdleConnTimeout: 90 * time.Second, DisableCompression: true,
		ForceAttemptHTTP2: false,
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// loadConfig is one run of load.
type loadConfig struct {
	target      string // base URL (checked loopback)
	concurrency int
	duration    time.Duration
	timeout     time.Duration // per request
	mix         []string
	signer      *signer
}

// sample is one finished request.
type sample struct {
	kind   int // index into kinds
	status int // 0: transport error
	dur    time.Duration
}

// result is what a run measured.
type result struct {
	elapsed   time.Duration
	kinds     []string
	samples   []sample
	errSample map[string]string // kind → one transport error or unexpected status body
}

// runLoad sends requests from cfg.concurrency workers, each waiting for its
// answer before the next (closed loop), until cfg.duration is over; requests
// in flight then finish (bounded by cfg.timeout). It never runs longer than
// duration + timeout, and stops early when ctx ends.
func runLoad(ctx context.Context, cfg loadConfig) (*result, error) {
	if _, err := loopbackURL(cfg.target); err != nil {
		return nil, err
	}
	if cfg.concurrency < 1 || cfg.concurrency > 4096 {
		return nil, fmt.Errorf("concurrency %d: want 1…4096", cfg.concurrency)
	}
	if cfg.duration <= 0 || cfg.duration > time.Hour {
		return nil, fmt.Errorf("duration %v: want more than 0 and at most 1h", cfg.duration)
	}
	if cfg.timeout <= 0 {
		cfg.timeout = 10 * time.Second
	}
	kinds := slices.Compact(slices.Sorted(slices.Values(cfg.mix)))
	kindIdx := map[string]int{}
	for i, k := range kinds {
		kindIdx[k] = i
	}
	client := loopbackClient(cfg.concurrency, cfg.timeout)
	defer client.CloseIdleConnections()
	run := fmt.Sprintf("L%x", time.Now().UnixNano()&0xffffffffff)

	hard, cancel := context.WithTimeout(ctx, cfg.duration+cfg.timeout)
	defer cancel()
	stopAt := time.Now().Add(cfg.duration)
	var seq atomic.Int64
	perWorker := make([][]sample, cfg.concurrency)
	var mu sync.Mutex
	errSample := map[string]string{}
	note := func(kind, msg string) {
		mu.Lock()
		if _, ok := errSample[kind]; !ok {
			errSample[kind] = msg
		}
		mu.Unlock()
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := range cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]sample, 0, 4096)
			for i := w; hard.Err() == nil && time.Now().Before(stopAt); i++ {
				kind := cfg.mix[i%len(cfg.mix)]
				n := seq.Add(1)
				req, err := cfg.signer.build(kind, n, run)
				if err != nil {
					note(kind, err.Error())
					out = append(out, sample{kind: kindIdx[kind], status: 0})
					continue
				}
				req = req.WithContext(hard)
				t0 := time.Now()
				resp, err := client.Do(req)
				status := 0
				if err == nil {
					body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
					resp.Body.Close()
					status = resp.StatusCode
					if rerr != nil {
						status, err = 0, rerr
					} else if status/100 != 2 {
						note(kind, fmt.Sprintf("HTTP %d: %.200s", status, body))
					}
				}
				d := time.Since(t0)
				if err != nil {
					if hard.Err() != nil && errors.Is(err, context.Canceled) {
						break // interrupted: not a sample
					}
					note(kind, err.Error())
				}
				out = append(out, sample{kind: kindIdx[kind], status: status, dur: d})
			}
			perWorker[w] = out
		}()
	}
	wg.Wait()
	res := &result{elapsed: time.Since(start), kinds: kinds, errSample: errSample}
	for _, s := range perWorker {
		res.samples = append(res.samples, s...)
	}
	return res, nil
}

// stats summarizes samples.
type stats struct {
	requests, ok int
	byStatus     map[int]int // non-2xx statuses; 0 is a transport error
	rps          float64
	p50, p99     time.Duration
	p999, max    time.Duration
	mean         time.Duration
}

// percentile is the nearest-rank percentile q (0 < q ≤ 1) of sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// summarize computes the stats of the samples that keep passes over elapsed.
func summarize(samples []sample, elapsed time.Duration, keep func(sample) bool) stats {
	st := stats{byStatus: map[int]int{}}
	var ds []time.Duration
	var sum time.Duration
	for _, s := range samples {
		if !keep(s) {
			continue
		}
		st.requests++
		if s.status/100 == 2 {
			st.ok++
		} else {
			st.byStatus[s.status]++
		}
		if s.status != 0 {
			ds = append(ds, s.dur)
			sum += s.dur
		}
	}
	slices.Sort(ds)
	if elapsed > 0 {
		st.rps = float64(st.requests) / elapsed.Seconds()
	}
	if len(ds) > 0 {
		st.p50, st.p99, st.p999 = percentile(ds, 0.50), percentile(ds, 0.99), percentile(ds, 0.999)
		st.max, st.mean = ds[len(ds)-1], sum/time.Duration(len(ds))
	}
	return st
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// report prints the run's figures, overall and per kind.
func (r *result) report(w io.Writer, cfg loadConfig) stats {
	fmt.Fprintf(w, "target %s  concurrency %d  duration %v (ran %.2fs)  mix %s\n",
		cfg.target, cfg.concurrency, cfg.duration, r.elapsed.Seconds(), strings.Join(cfg.mix, ","))
	fmt.Fprintf(w, "%-16s %9s %9s %10s %9s %9s %9s %9s %9s  %s\n",
		"kind", "requests", "errors", "req/s", "mean", "p50", "p99", "p99.9", "max", "errors by status")
	line := func(name string, st stats) {
		fmt.Fprintf(w, "%-16s %9d %9d %10.1f %9s %9s %9s %9s %9s  %s\n", name, st.requests, st.requests-st.ok, st.rps,
			ms(st.mean), ms(st.p50), ms(st.p99), ms(st.p999), ms(st.max), statusText(st.byStatus))
	}
	all := summarize(r.samples, r.elapsed, func(sample) bool { return true })
	line("all", all)
	for i, k := range r.kinds {
		line(k, summarize(r.samples, r.elapsed, func(s sample) bool { return s.kind == i }))
	}
	keys := make([]string, 0, len(r.errSample))
	for k := range r.errSample {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "first error of %s: %s\n", k, r.errSample[k])
	}
	return all
}

func statusText(m map[int]int) string {
	if len(m) == 0 {
		return "-"
	}
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var parts []string
	for _, c := range codes {
		name := fmt.Sprint(c)
		if c == 0 {
			name = "transport"
		}
		parts = append(parts, fmt.Sprintf("%s=%d", name, m[c]))
	}
	return strings.Join(parts, " ")
}
