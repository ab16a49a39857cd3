// Package httpbody reads the body of a platform's request.
package httpbody

import (
	"bytes"
	"net/http"
)

// preallocated is the most Read allocates before the bytes arrive: a
// client that announces a megabyte and sends nothing holds no more.
const preallocated = 64 << 10

// Read reads r's body, at most limit bytes (more is a
// *http.MaxBytesError), into one buffer of the size its Content-Length
// announces: io.ReadAll would start at 512 bytes and grow, copying, to
// about twice the body. A body that announces more than limit is refused
// before any of it is read.
func Read(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	n := r.ContentLength
	if n > limit {
		if w != nil {
			w.Header().Set("Connection", "close") // the rest is not read
		}
		return nil, &http.MaxBytesError{Limit: limit}
	}
	if n < 0 || n > min(limit, preallocated) {
		n = 0 // unknown, or large: grown as it arrives
	}
	buf := bytes.NewBuffer(make([]byte, 0, n+bytes.MinRead))
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	return buf.Bytes(), err
}
