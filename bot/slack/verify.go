package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"
)

// maxSkew is how far a request's timestamp may be from now.
const maxSkew = 5 * time.Minute

// Errors of request verification; each is answered with 401.
var (
	errNoSignature = errors.New("slack: request not signed")
	errStale       = errors.New("slack: request timestamp too old or ahead")
	errSignature   = errors.New("slack: signature mismatch")
)

// verifier checks Slack's request signatures: HMAC-SHA256 over
// "v0:timestamp:body" with the app's signing secret. Unlike slack-go's
// SecretsVerifier it reads time from an injectable clock.
type verifier struct {
	secret []byte
	now    func() time.Time
}

// verify reports whether body, sent with the X-Slack-Request-Timestamp ts
// and the X-Slack-Signature sig, comes from Slack and is fresh.
func (v verifier) verify(ts, sig string, body []byte) error {
	if err := v.fresh(ts, sig); err != nil {
		return err
	}
	mac := hmac.New(sha256.New, v.secret)
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	want := "v0=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return errSignature
	}
	return nil
}

// fresh reports whether a request with the X-Slack-Request-Timestamp ts
// and the X-Slack-Signature sig can be genuine before its body is read: it
// is signed, and its timestamp is within maxSkew of now.
func (v verifier) fresh(ts, sig string) error {
	if ts == "" || sig == "" || len(v.secret) == 0 {
		return errNoSignature
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errNoSignature
	}
	d := v.now().Sub(time.Unix(secs, 0))
	if d > maxSkew || d < -maxSkew {
		return errStale
	}
	return nil
}
