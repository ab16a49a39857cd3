package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Credentials keeps one platform's credentials, one per organization:
// what the platform gave the organization when the app was installed there,
// a secret (a bot token), kept encrypted, and what the platform said about
// it (attributes: the bot's user id, scopes, who installed it; never
// secret). A credential may have only attributes (a pointer to another
// organization's). They are
// encrypted at rest with AES-256-GCM under a key derived from the
// deployment's secret key for this purpose only; the organization is the
// associated data, so that a record copied to another organization does
// not open.
type Credentials struct {
	s        *Store
	platform string
	aead     cipher.AEAD
}

// MinCredentialKey is the fewest bytes the secret key of Credentials may have.
const MinCredentialKey = 32

// Credentials returns the credentials of a platform ("slack"), sealed with
// a key derived from secretKey.
func (s *Store) Credentials(platform string, secretKey []byte) (*Credentials, error) {
	if !ValidID(platform) {
		return nil, fmt.Errorf("store: credentials: platform %q: %w", platform, ErrInvalid)
	}
	if len(secretKey) < MinCredentialKey {
		return nil, fmt.Errorf("store: credentials: secret key of %d bytes, want at least %d: %w", len(secretKey), MinCredentialKey, ErrInvalid)
	}
	m := hmac.New(sha256.New, secretKey)
	m.Write([]byte("billingbot platform credential v1\x00" + platform))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Credentials{s: s, platform: platform, aead: aead}, nil
}

// credentialDoc is a credential as Redis holds it (JSON).
type credentialDoc struct {
	Sealed string            `json:"sealed"` // base64(nonce | ciphertext)
	Attrs  map[string]string `json:"attrs,omitempty"`
	At     int64             `json:"at"` // Unix seconds
}

func (c *Credentials) aad(org string) []byte { return []byte(c.platform + "\x00" + org) }

// Put stores the organization's credential (secret and attributes),
// replacing one stored before, and records who did it (actor) in the
// organization's audit stream, in one transaction.
func (c *Credentials) Put(ctx context.Context, org, actor, secret string, attrs map[string]string) error {
	const op = "put credential"
	if err := checkIDs(op, org, actor); err != nil {
		return err
	}
	if secret == "" && len(attrs) == 0 {
		return &Error{Op: op, Err: fmt.Errorf("%w: empty credential", ErrInvalid)}
	}
	nonce := make([]byte, c.aead.NonceSize())
	_, _ = rand.Read(nonce) // never fails (crypto/rand)
	sealed := c.aead.Seal(nonce, nonce, []byte(secret), c.aad(org))
	doc, err := json.Marshal(credentialDoc{Sealed: base64.StdEncoding.EncodeToString(sealed), Attrs: attrs, At: time.Now().Unix()})
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	k := orgKeys(org)
	_, err = c.s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, k.credential(c.platform), doc, 0)
		p.XAdd(ctx, audit(k, actor, "install", c.platform, "", ""))
		c.s.trimAudit(ctx, p, org)
		return nil
	})
	return wrap(op, err)
}

// Get returns the organization's credential, its secret decrypted, and
// whether there is one. A record that does not open (another secret key,
// or tampered with) is an error that names no secret.
func (c *Credentials) Get(ctx context.Context, org string) (secret string, attrs map[string]string, ok bool, err error) {
	const op = "credential"
	if err := checkIDs(op, org); err != nil {
		return "", nil, false, err
	}
	v, err := c.s.rdb.Get(ctx, orgKeys(org).credential(c.platform)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil, false, nil
	}
	if err != nil {
		return "", nil, false, wrap(op, err)
	}
	var doc credentialDoc
	if err := json.Unmarshal([]byte(v), &doc); err != nil {
		return "", nil, false, &Error{Op: op, Err: fmt.Errorf("record of %s is not JSON", org)}
	}
	sealed, err := base64.StdEncoding.DecodeString(doc.Sealed)
	if err != nil || len(sealed) < c.aead.NonceSize() {
		return "", nil, false, &Error{Op: op, Err: fmt.Errorf("record of %s is damaged", org)}
	}
	n := c.aead.NonceSize()
	plain, err := c.aead.Open(nil, sealed[:n], sealed[n:], c.aad(org))
	if err != nil {
		return "", nil, false, &Error{Op: op, Err: fmt.Errorf("record of %s does not open with this secret key", org)}
	}
	return string(plain), doc.Attrs, true, nil
}

// Delete removes the organization's credential (what else the
// organization has stays), with an audit entry, atomically. It reports
// whether there was one; a repeat changes nothing.
func (c *Credentials) Delete(ctx context.Context, org, actor string) (bool, error) {
	const op = "delete credential"
	if err := checkIDs(op, org, actor); err != nil {
		return false, err
	}
	k := orgKeys(org)
	n, err := scriptCredentialDel.Run(ctx, c.s.rdb, []string{k.credential(c.platform), k.audit()}, actor, "uninstall", c.platform).Int()
	if err != nil {
		return false, wrap(op, err)
	}
	return n == 1, nil
}

// UseOnce marks a single-use value (what names its kind, such as
// "slack-oauth-state") as used for ttl. It reports true the first time,
// false for a value used before. Redis keeps only a hash of the value.
func (s *Store) UseOnce(ctx context.Context, what, value string, ttl time.Duration) (bool, error) {
	const op = "use once"
	if !ValidID(what) || value == "" || ttl <= 0 {
		return false, &Error{Op: op, Err: ErrInvalid}
	}
	ok, err := s.rdb.SetNX(ctx, usedOnce(what, value), "1", ttl).Result()
	if err != nil {
		return false, wrap(op, err)
	}
	return ok, nil
}
