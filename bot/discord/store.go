package discord

import (
	"context"
	"time"
)

// Store is what the adapter keeps in Redis beside the core's data, under
// the organization's keys so that every replica shares it: values it
// looked up on Discord or made for its own messages (guild members and
// admins, channel ids, the command lines of buttons, open forms), and
// which destinations a notification reached. *store.Store is one.
type Store interface {
	// CacheGet returns a value CachePut kept, and whether there was one.
	CacheGet(ctx context.Context, org, key string) (string, bool, error)
	// CachePut keeps a value for ttl.
	CachePut(ctx context.Context, org, key, value string, ttl time.Duration) error
	// CacheDelete drops a value once it is no longer needed.
	CacheDelete(ctx context.Context, org, key string) error
	// Delivered reports whether the notification with key reached
	// destination before; MarkDelivered remembers that it did.
	Delivered(ctx context.Context, org, key, destination string) (bool, error)
	MarkDelivered(ctx context.Context, org, key, destination string) error
}
