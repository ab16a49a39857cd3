package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// writes records each write it gets.
type writes struct {
	mu  sync.Mutex
	all []string
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all = append(w.all, string(p))
	return len(p), nil
}

func (w *writes) text() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.all, "")
}

// TestLogBuffer: log lines are written out together, in order and whole;
// a warning at once, with what came before it; the rest on Close.
func TestLogBuffer(t *testing.T) {
	var w writes
	b := newLogBuffer(&w, time.Hour)
	log := slog.New(flushingHandler{slog.NewTextHandler(b, nil), b})
	log.Info("request", "n", 1)
	log.Info("request", "n", 2)
	if got := w.text(); got != "" {
		t.Fatalf("written before a flush: %q", got)
	}
	log.Warn("trouble")
	got := w.text()
	if len(w.all) != 1 || strings.Count(got, "\n") != 3 ||
		!(strings.Index(got, "n=1") < strings.Index(got, "n=2") && strings.Index(got, "n=2") < strings.Index(got, "trouble")) {
		t.Errorf("after the warning, %d writes: %q; want the three lines in order, in one", len(w.all), got)
	}
	log.Info("request", "n", 3)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(w.text(), "n=3") {
		t.Errorf("Close left a line unwritten: %q", w.text())
	}
	// Work that outlives the shutdown still logs, at once.
	log.Info("late", "n", 4)
	if !strings.Contains(w.text(), "n=4") {
		t.Errorf("a line after Close was not written: %q", w.text())
	}

	// Many lines: each write holds whole lines.
	w = writes{}
	b = newLogBuffer(&w, time.Hour)
	var want bytes.Buffer
	for i := range 3000 {
		line := fmt.Sprintf("time=x level=INFO msg=request n=%d %s\n", i, strings.Repeat("x", i%97))
		want.WriteString(line)
		if _, err := b.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if w.text() != want.String() {
		t.Error("the lines written out are not the lines logged, in order")
	}
	if len(w.all) < 2 {
		t.Errorf("%d writes; want the buffer to fill more than once", len(w.all))
	}
	for i, p := range w.all {
		if !strings.HasSuffix(p, "\n") {
			t.Fatalf("write %d ends inside a line: …%q", i, p[max(0, len(p)-40):])
		}
	}
}

// TestLogBufferWritesInTime: what waits in the buffer is written out
// without a flush, soon.
func TestLogBufferWritesInTime(t *testing.T) {
	var w writes
	b := newLogBuffer(&w, 10*time.Millisecond)
	defer b.Close()
	slog.New(slog.NewTextHandler(b, nil)).Info("request")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(w.text(), "msg=request") {
		if time.Now().After(deadline) {
			t.Fatal("the line was not written out within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// failing fails its writes while broken.
type failing struct {
	writes
	broken bool
}

func (f *failing) Write(p []byte) (int, error) {
	if f.broken {
		return 0, errors.New("broken pipe")
	}
	return f.writes.Write(p)
}

// TestLogBufferAfterFailure: a write out that fails loses what the buffer
// held, not the lines after it.
func TestLogBufferAfterFailure(t *testing.T) {
	f := &failing{broken: true}
	b := newLogBuffer(f, time.Hour)
	fmt.Fprintln(b, "lost")
	if err := b.Flush(); err == nil {
		t.Fatal("Flush to a broken writer: no error")
	}
	f.broken = false
	fmt.Fprintln(b, "kept")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := f.text(); got != "kept\n" {
		t.Errorf("written %q, want the line after the failure", got)
	}
}
