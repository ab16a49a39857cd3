//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/redistest"
)

// The tests in this file run the billingbot binary: two `billingbot serve`
// processes on one real Redis, in front of one fake Slack, as replicas
// behind a load balancer would; and they kill one with SIGKILL where a
// crash would hurt most.

// buildBinary builds billingbot once per test binary.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "billingbot-bin-")
	if err != nil {
		return "", err
	}
	builtDir = dir
	bin := filepath.Join(dir, "billingbot")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// replica is one billingbot serve process.
type replica struct {
	name, addr string
	cmd        *exec.Cmd
	done       chan struct{}
	log        string // its stderr
}

// startReplica runs billingbot serve on a free port, on the Redis of
// redisURL, with its Slack Web API at the fake's /NAME/slack/ (so the fake
// knows who calls), and waits until it is ready.
func startReplica(t *testing.T, name, redisURL string, api *slackFake) *replica {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := &replica{name: name, addr: addr, done: make(chan struct{}), log: filepath.Join(t.TempDir(), name+".log")}
	logFile, err := os.Create(r.log)
	if err != nil {
		t.Fatal(err)
	}
	r.cmd = exec.Command(bin, "serve")
	r.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"REDIS_URL=" + redisURL, "BILLINGBOT_ADDR=" + addr, "BILLINGBOT_LOG_FORMAT=json", "BILLINGBOT_PAYMENTS=sandbox",
		"SLACK_SIGNING_SECRET=" + testSigningSecret, "SLACK_BOT_TOKEN=xoxb-test",
		"SLACK_API_URL=" + api.srv.URL + "/" + name + "/slack/", "SLACK_ADMIN_CHANNEL=C0ADMINS",
		"BILLINGBOT_JOBS_EVERY=200ms", "BILLINGBOT_OUTBOX_CLAIM_AFTER=1s",
	}
	r.cmd.Stdout, r.cmd.Stderr = logFile, logFile
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logFile.Close()
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		r.kill()
		if t.Failed() {
			b, _ := os.ReadFile(r.log)
			t.Logf("replica %s log:\n%s", name, b)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		select {
		case <-r.done:
			b, _ := os.ReadFile(r.log)
			t.Fatalf("replica %s exited:\n%s", name, b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s not ready in 20 s", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the process at once, as a crash would (SIGKILL), and waits.
func (r *replica) kill() {
	_ = r.cmd.Process.Kill()
	<-r.done
}

// client sends signed Slack requests to the replica.
func (r *replica) client(t *testing.T, api *slackFake) *served {
	return &served{t: t, base: "http://" + r.addr, api: &fakeAPI{srv: api.srv}}
}

// post is a notification the fake Slack received.
type post struct {
	replica, channel, key string
}

// slackFake is a fake Slack Web API shared by the replicas: it posts
// messages into channels' histories (with their metadata, which
// conversations.history shows), and can hold a post, as a network that
// loses the answer or a process killed at that moment would.
type slackFake struct {
	srv *httptest.Server

	mu    sync.Mutex
	posts []post
	hooks map[string]int                    // user → answers posted to the response_url
	hist  map[string][]map[string]any       // channel → messages
	hold  func(p post) (record, block bool) // nil: every post is made at once
	held  chan post                         // hears of a held post
}

func newSlackFake(t *testing.T) *slackFake {
	f := &slackFake{hooks: map[string]int{}, hist: map[string][]map[string]any{}, held: make(chan post, 10)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *slackFake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	w.Header().Set("Content-Type", "application/json")
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
	if parts[0] == "hook" {
		f.mu.Lock()
		f.hooks[parts[1]]++
		f.mu.Unlock()
		fmt.Fprint(w, `{"ok":true}`)
		return
	}
	if len(parts) != 3 {
		http.NotFound(w, r)
		return
	}
	switch parts[2] {
	case "users.info":
		fmt.Fprintf(w, `{"ok":true,"user":{"id":%q,"name":"user","real_name":"User %s","locale":"en-US","profile":{"real_name":"User %s"}}}`,
			form.Get("user"), form.Get("user"), form.Get("user"))
	case "conversations.open":
		fmt.Fprintf(w, `{"ok":true,"channel":{"id":"D%s"}}`, form.Get("users"))
	case "conversations.history":
		f.mu.Lock()
		doc, _ := json.Marshal(map[string]any{"ok": true, "messages": f.hist[form.Get("channel")]})
		f.mu.Unlock()
		w.Write(doc)
	case "chat.postMessage":
		var meta struct {
			Payload struct {
				Key string `json:"key"`
			} `json:"event_payload"`
		}
		_ = json.Unmarshal([]byte(form.Get("metadata")), &meta)
		p := post{replica: parts[0], channel: form.Get("channel"), key: meta.Payload.Key}
		f.mu.Lock()
		record, block := true, false
		if f.hold != nil {
			record, block = f.hold(p)
		}
		if record {
			f.posts = append(f.posts, p)
			f.hist[p.channel] = append(f.hist[p.channel], map[string]any{"type": "message", "ts": "1.1",
				"metadata": map[string]any{"event_type": "billingbot_notification", "event_payload": map[string]any{"key": p.key}}})
		}
		f.mu.Unlock()
		if block {
			f.held <- p
			<-r.Context().Done() // until the replica is killed
			return
		}
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1.1"}`, p.channel)
	default:
		fmt.Fprint(w, `{"ok":true,"view":{"id":"V1"}}`)
	}
}

// posted counts the posts of each notification key.
func (f *slackFake) posted() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for _, p := range f.posts {
		out[p.key]++
	}
	return out
}

func (f *slackFake) setHold(h func(post) (bool, bool)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hold = h
}

// quiet waits until no outbox of orgs holds anything: every notification
// is delivered and acknowledged, so none can be posted again.
func quiet(t *testing.T, st *store.Store, orgs []string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		left := 0
		for _, org := range orgs {
			entries, err := st.Outbox(t.Context(), org, 100)
			if err != nil {
				t.Fatal(err)
			}
			left += len(entries)
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d notifications still in the outboxes after 30 s", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReplicas: two serve processes on one Redis. Requests spread over
// both; the scheduler's jobs (trial ends) and the outbox's notifications
// are each done once. Then a replica is killed (SIGKILL) right after
// Slack took a notification but before it was acknowledged, and right
// after a change but before its notification was posted: the other
// replica delivers each exactly once.
func TestReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	redisAddr := redistest.Real(t)
	rdb, err := store.Connect("redis://" + redisAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	st := store.New(rdb)
	api := newSlackFake(t)
	replicas := []*replica{startReplica(t, "a", "redis://"+redisAddr, api), startReplica(t, "b", "redis://"+redisAddr, api)}

	// Scheduler work: ten trials that end in a moment, each in its own
	// workspace; both replicas claim due jobs every 200 ms.
	const n = 10
	var orgs []string
	end := time.Now().Add(time.Second)
	for i := range n {
		org := fmt.Sprintf("slack-TS%d", i)
		orgs = append(orgs, org)
		sub := store.Subscription{ID: fmt.Sprintf("seeded%d", i), Org: org, ProductID: "power-bi-pro", ProductName: "Power BI Pro",
			Purchaser: store.Member{ID: "U1", Name: "User U1"}, SelfService: true, Status: store.StatusTrial, Total: 25,
			Currency: "EUR", PurchasedAt: time.Now(), TrialEnd: end}
		job := store.Job{Kind: store.JobTrialEnd, Org: org, SubID: sub.ID, Due: end}
		if _, err := st.CreateSubscription(t.Context(), store.Once{Key: "seed" + sub.ID}, sub, nil, job); err != nil {
			t.Fatal(err)
		}
	}
	// Requests: ten trials started through Slack, alternately on each replica.
	for i := range n {
		team, user := fmt.Sprintf("TR%d", i), fmt.Sprintf("U%d", i)
		orgs = append(orgs, "slack-"+team)
		c := replicas[i%2].client(t, api)
		code, body := c.submit(team, user, "V-start-"+user, commands.FormTrial, map[string]string{"product": "visio-plan-2"})
		if code != http.StatusOK || !strings.Contains(body, `"response_action":"clear"`) {
			t.Fatalf("trial on replica %s: %d %s", replicas[i%2].name, code, body)
		}
	}
	// Every expiry and every trial start reaches the admin channel once.
	deadline := time.Now().Add(30 * time.Second)
	for len(api.posted()) < 2*n {
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s, %d notifications posted, want %d: %v", len(api.posted()), 2*n, api.posted())
		}
		time.Sleep(50 * time.Millisecond)
	}
	quiet(t, st, orgs)
	kinds := map[string]int{}
	for key, count := range api.posted() {
		kind, _, _ := strings.Cut(key, ":")
		kinds[kind]++
		if count != 1 {
			t.Errorf("notification %s posted %d times, want once", key, count)
		}
	}
	if kinds["expiry"] != n || kinds["trial"] != n {
		t.Errorf("notifications by kind %v, want %d expiries and %d trials", kinds, n, n)
	}
	for i := range n {
		org := fmt.Sprintf("slack-TS%d", i)
		expired := 0
		entries, err := st.Audit(t.Context(), org, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Action == "expire" {
				expired++
			}
		}
		if expired != 1 {
			t.Errorf("%s: %d expiries in the audit, want 1 (the trial end done once)", org, expired)
		}
	}
	api.mu.Lock()
	byReplica := map[string]int{}
	for _, p := range api.posts {
		byReplica[p.replica]++
	}
	api.mu.Unlock()
	t.Logf("notifications posted by replica: %v", byReplica)
	// Each replica counts what it sent.
	sent := 0
	for _, r := range replicas {
		resp, err := http.Get("http://" + r.addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		text, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, kind := range []string{"trial", "expiry"} {
			var v int
			prefix := `billingbot_notifications_total{kind="` + kind + `",platform="slack",result="sent"} `
			for _, line := range strings.Split(string(text), "\n") {
				if strings.HasPrefix(line, prefix) {
					fmt.Sscan(strings.TrimPrefix(line, prefix), &v)
				}
			}
			sent += v
		}
	}
	if sent != 2*n {
		t.Errorf("the replicas' metrics count %d notifications sent, want %d", sent, 2*n)
	}

	// A replica is killed after Slack took its post and before it could
	// mark or acknowledge it: the other finds the message in the channel's
	// history and does not post it again.
	killed := func(team, user string, record bool) {
		t.Helper()
		api.setHold(func(p post) (bool, bool) {
			if strings.HasPrefix(p.key, "trial:") && p.channel == "C0ADMINS" && strings.Contains(p.key, "V-"+team) {
				return record, true
			}
			return true, false
		})
		orgs = append(orgs, "slack-"+team)
		c := replicas[0].client(t, api)
		if code, body := c.submit(team, user, "V-"+team, commands.FormTrial, map[string]string{"product": "visio-plan-2"}); code != http.StatusOK {
			t.Fatalf("trial: %d %s", code, body)
		}
		var p post
		select {
		case p = <-api.held:
		case <-time.After(30 * time.Second):
			t.Fatal("the notification was never posted")
		}
		api.setHold(nil)
		i := 0
		if p.replica == "b" {
			i = 1
		}
		replicas[i].kill()
		quiet(t, st, orgs) // the survivor claims it after 1 s and delivers it
		key := ""
		for k := range api.posted() {
			if strings.Contains(k, "V-"+team) {
				key = k
			}
		}
		if got := api.posted()[key]; key == "" || got != 1 {
			t.Errorf("killed %s (Slack took the post: %v): the notification was posted %d times, want once", replicas[i].name, record, got)
		}
		// The killed replica comes back for the next case.
		replicas[i] = startReplica(t, replicas[i].name, "redis://"+redisAddr, api)
	}
	killed("TK1", "U41", true)
	// Killed between the change and the post (the post never reached
	// Slack): the other replica posts it.
	killed("TK2", "U42", false)
}
