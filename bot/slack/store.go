package slack

import (
	"context"
	"time"
)

// Store is what the adapter keeps in Redis beside the core's data, under
// the organization's keys so that every replica shares it: what it looked
// up on Slack (users.info answers, the workspace's admins, channel ids),
// which destinations a notification reached, and
// which OAuth states were used. *store.Store is one.
type Store interface {
	// CacheGet returns a value CachePut kept, and whether there was one.
	CacheGet(ctx context.Context, org, key string) (string, bool, error)
	// CacheGetTTL is CacheGet that also says how much longer the value is
	// kept.
	CacheGetTTL(ctx context.Context, org, key string) (string, time.Duration, bool, error)
	// CachePut keeps a value for ttl.
	CachePut(ctx context.Context, org, key, value string, ttl time.Duration) error
	// Delivered reports whether the notification with key reached
	// destination before; MarkDelivered remembers that it did.
	Delivered(ctx context.Context, org, key, destination string) (bool, error)
	MarkDelivered(ctx context.Context, org, key, destination string) error
	// UseOnce reports whether value of the kind what is used for the first
	// time within ttl (an OAuth state, which may be used once).
	UseOnce(ctx context.Context, what, value string, ttl time.Duration) (bool, error)
}
