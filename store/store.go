package store

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store is billingbot's state in Redis. It is safe for concurrent use by
// many goroutines and by many bot replicas sharing one Redis.
type Store struct {
	rdb     redis.UniversalClient
	idemTTL time.Duration
}

// New returns a store on rdb.
func New(rdb redis.UniversalClient) *Store {
	return &Store{rdb: rdb, idemTTL: 24 * time.Hour}
}

// Client returns the Redis client the store uses.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return wrap("ping", s.rdb.Ping(ctx).Err())
}

// Connect opens a client for a Redis URL:
//
//	redis://[user:pass@]host:port[/db]     one server (rediss:// for TLS, unix:///path.sock)
//	redis+cluster://host:port?addr=host2:port2&addr=…   Redis Cluster (rediss+cluster:// for TLS)
//	redis+sentinel://host:26379?master_name=mymaster&addr=…   Sentinel (rediss+sentinel:// for TLS)
func Connect(rawURL string) (redis.UniversalClient, error) {
	c, err := connect(rawURL)
	if err != nil {
		return nil, redactErr(err, rawURL)
	}
	return c, nil
}

// redactErr keeps a URL's password out of an error message.
func redactErr(err error, rawURL string) error {
	u, perr := url.Parse(rawURL)
	if perr != nil || u.User == nil {
		// Unparseable: say nothing of what it holds after the scheme.
		if scheme, _, ok := strings.Cut(rawURL, "://"); ok && strings.Contains(err.Error(), rawURL) {
			return errors.New(strings.ReplaceAll(err.Error(), rawURL, scheme+"://…"))
		}
		return err
	}
	msg := strings.ReplaceAll(err.Error(), rawURL, u.Redacted())
	if pw, ok := u.User.Password(); ok && pw != "" {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	return errors.New(msg)
}

func connect(rawURL string) (redis.UniversalClient, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, fmt.Errorf("redis url: missing scheme (redis://, rediss://, redis+cluster://, redis+sentinel://)")
	}
	base, mode, _ := strings.Cut(scheme, "+")
	plain := base + "://" + rest
	switch mode {
	case "":
		opt, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", err)
		}
		return redis.NewClient(opt), nil
	case "cluster":
		opt, err := redis.ParseClusterURL(plain)
		if err != nil {
			return nil, fmt.Errorf("redis cluster url: %w", err)
		}
		return redis.NewClusterClient(opt), nil
	case "sentinel":
		opt, err := redis.ParseFailoverURL(plain)
		if err != nil {
			return nil, fmt.Errorf("redis sentinel url: %w", err)
		}
		if opt.MasterName == "" {
			return nil, fmt.Errorf("redis sentinel url: master_name is required")
		}
		return redis.NewFailoverClient(opt), nil
	}
	return nil, fmt.Errorf("redis url: unknown scheme %q", scheme)
}

//go:embed lua/*.lua
var luaFiles embed.FS

func script(name string) *redis.Script {
	src, err := luaFiles.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	return redis.NewScript(string(src))
}

var (
	scriptCreate        = script("create")
	scriptConvert       = script("convert")
	scriptLicenses      = script("licenses")
	scriptAssign        = script("assign")
	scriptUnassign      = script("unassign")
	scriptCancel        = script("cancel")
	scriptBilling       = script("billing")
	scriptSettle        = script("settle")
	scriptClaim         = script("claim")
	scriptView          = script("view")
	scriptInvoiceStatus = script("invoice_status")
)

// NewID returns a random, unguessable id (80 bits, base32, lower case).
func NewID() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// Once makes a state change idempotent. Key identifies the request (a
// platform's view or interaction id); a second change with the same Key
// changes nothing and returns, as Result.Value, what the first recorded:
// Reply when it was set (the answer the user got), else the first result.
type Once struct {
	Key   string
	Reply string
}

// Result is what a state change returns: whether it happened now or was a
// repeat of an earlier request with the same idempotency key, and the value
// the first request recorded (see Once; else a subscription id, a new count).
type Result struct {
	Repeat bool
	Value  string
}

func result(op string, v any, err error) (Result, error) {
	if err != nil {
		return Result{}, wrap(op, err)
	}
	arr, ok := v.([]any)
	if !ok || len(arr) != 2 {
		return Result{}, fmt.Errorf("store: %s: unexpected reply %v", op, v)
	}
	kind, _ := arr[0].(string)
	val, _ := arr[1].(string)
	return Result{Repeat: kind == "dup", Value: val}, nil
}

func isUnavailable(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, redis.ErrPoolTimeout) ||
		errors.Is(err, redis.ErrClosed)
}

func unix(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return fmt.Sprint(t.Unix())
}
