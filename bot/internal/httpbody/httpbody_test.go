package httpbody

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRead: bodies of every size up to the limit arrive whole, whether
// their length is announced or not (or wrongly, within the limit); a
// longer one is refused.
func TestRead(t *testing.T) {
	const limit = 4096
	for _, size := range []int{0, 1, 511, 512, 513, 3000, limit} {
		body := strings.Repeat("x", size)
		for _, announced := range []int64{int64(size), -1, limit} {
			r := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(strings.NewReader(body)))
			r.ContentLength = announced
			got, err := Read(httptest.NewRecorder(), r, limit)
			if err != nil || string(got) != body {
				t.Errorf("size %d, announced %d: %d bytes, %v", size, announced, len(got), err)
			}
		}
	}
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", limit+1)))
	var tooBig *http.MaxBytesError
	if _, err := Read(httptest.NewRecorder(), r, limit); !errors.As(err, &tooBig) {
		t.Errorf("a body over the limit: %v, want *http.MaxBytesError", err)
	}
}

// TestReadRefusesAnnounced: a body that announces more than the limit is
// refused before a byte of it is read; one that does not announce its
// length is read no further than just past the limit.
func TestReadRefusesAnnounced(t *testing.T) {
	const limit = 4096
	for _, announced := range []int64{limit + 1, 1 << 30, -1} {
		src := &countingReader{left: 1 << 20}
		r := httptest.NewRequest(http.MethodPost, "/", src)
		r.ContentLength = announced
		w := httptest.NewRecorder()
		_, err := Read(w, r, limit)
		var tooBig *http.MaxBytesError
		if !errors.As(err, &tooBig) {
			t.Errorf("announced %d: %v, want *http.MaxBytesError", announced, err)
		}
		most := int64(limit + 1 + bytes.MinRead)
		if announced > 0 {
			most = 0
		}
		if src.read > most {
			t.Errorf("announced %d: read %d bytes, want at most %d", announced, src.read, most)
		}
	}
}

// countingReader is a body of left bytes that counts what is read of it.
type countingReader struct{ left, read int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > c.left {
		n = c.left
	}
	c.left -= n
	c.read += n
	return int(n), nil
}

// BenchmarkRead reads a modal submission's size of body, with Read and,
// as the baseline, io.ReadAll.
func BenchmarkRead(b *testing.B) {
	body := strings.Repeat("x", 3700)
	for name, read := range map[string]func(*http.Request) ([]byte, error){
		"Read":    func(r *http.Request) ([]byte, error) { return Read(nil, r, 1<<20) },
		"ReadAll": func(r *http.Request) ([]byte, error) { return io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20)) },
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
				if _, err := read(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
