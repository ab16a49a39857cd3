package slack

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/redistest"
)

// Benchmarks of the adapter's request handling end to end, as cmd/loadgen
// sends it (a slash command "/billing products" and a submitted invoices
// form, whose answer updates the modal), against a private real
// redis-server: each op is one signed request through ServeHTTP, and any
// work it continues after answering. cpu-µs/op is the CPU time of this
// process per op: the adapter, the core, the Redis client and the
// in-process fake Slack API answering users.info.

type benchSlack struct {
	a     *Adapter
	hook  string
	users int
	n     int
}

func newBenchSlack(b *testing.B) *benchSlack {
	b.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Real(b)})
	b.Cleanup(func() { rdb.Close() })
	st := store.New(rdb)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	bot, err := commands.New(st, catalog.Demo(), payment.NewSandbox(),
		commands.Config{PublicURL: "https://pay.example", RatePerMinute: 1 << 30}, commands.WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/users.info" {
			form, _ := url.ParseQuery(string(body))
			id := form.Get("user")
			json.NewEncoder(w).Encode(map[string]any{"ok": true, "user": map[string]any{"id": id, "team_id": testTeam,
				"name": strings.ToLower(id), "real_name": "User " + id, "locale": "en-US"}})
			return
		}
		io.WriteString(w, `{"ok":true}`)
	}))
	b.Cleanup(api.Close)
	a, err := New(Config{SigningSecret: testSecret, BotToken: "xoxb-bench", APIURL: api.URL + "/api/", Log: quiet}, bot, st)
	if err != nil {
		b.Fatal(err)
	}
	return &benchSlack{a: a, hook: api.URL + "/hook/", users: 100}
}

func (s *benchSlack) serve(b *testing.B, body string) {
	r := httptest.NewRequest(http.MethodPost, "/slack/events", strings.NewReader(body))
	r.Header.Set("Content-Type", formType)
	ts := time.Now().Unix()
	r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	r.Header.Set("X-Slack-Signature", sign(testSecret, ts, body))
	w := httptest.NewRecorder()
	s.a.ServeHTTP(w, r)
	s.a.Wait()
	if w.Code != http.StatusOK {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

func (s *benchSlack) command() string {
	s.n++
	trig := fmt.Sprintf("bench.%d.trig", s.n)
	return url.Values{"command": {"/billing"}, "text": {"products"}, "team_id": {testTeam},
		"user_id": {fmt.Sprintf("UBENCH%04d", s.n%s.users)}, "user_name": {"bench"}, "channel_id": {"C100"},
		"trigger_id": {trig}, "response_url": {s.hook + trig}}.Encode()
}

func (s *benchSlack) submit() string {
	s.n++
	meta, _ := json.Marshal(map[string]string{"ch": "C100", "ru": fmt.Sprintf("%ssubmit.%d", s.hook, s.n)})
	doc, _ := json.Marshal(map[string]any{"type": "view_submission", "team": map[string]any{"id": testTeam},
		"user": map[string]any{"id": fmt.Sprintf("UBENCH%04d", s.n%s.users), "team_id": testTeam, "name": "bench"},
		"view": map[string]any{"id": fmt.Sprintf("VBENCH%d", s.n), "type": "modal", "callback_id": "invoices",
			"private_metadata": string(meta),
			"blocks": []any{map[string]any{"type": "input", "block_id": "range"}, map[string]any{"type": "input", "block_id": "from"},
				map[string]any{"type": "input", "block_id": "to"}},
			"state": map[string]any{"values": map[string]any{"range": map[string]any{"range": map[string]any{
				"type": "static_select", "selected_option": map[string]any{"value": "6m"}}}}}}})
	return url.Values{"payload": {string(doc)}}.Encode()
}

func benchServe(b *testing.B, next func(*benchSlack) string) {
	s := newBenchSlack(b)
	for range 2 * s.users { // every user known, as under steady load
		s.serve(b, next(s))
	}
	b.ReportAllocs()
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ResetTimer()
	for range b.N {
		s.serve(b, next(s))
	}
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}

func BenchmarkServeCommand(b *testing.B) { benchServe(b, (*benchSlack).command) }
func BenchmarkServeSubmit(b *testing.B)  { benchServe(b, (*benchSlack).submit) }
