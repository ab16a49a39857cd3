package httpbody

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRead: bodies of every size up to the limit arrive whole, whether
// their length is announced or not (or wrongly); a longer one is refused.
func TestRead(t *testing.T) {
	const limit = 4096
	for _, size := range []int{0, 1, 511, 512, 513, 3000, limit} {
		body := strings.Repeat("x", size)
		for _, announced := range []int64{int64(size), -1, limit * 10} {
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
