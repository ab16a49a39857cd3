package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// logFlushEvery is how long a log line of `serve` waits at most before it
// is written out: one line per request, each written on its own, cost a
// tenth of the bot's CPU under load.
const logFlushEvery = 100 * time.Millisecond

// logBuffer gathers what is written to it and writes it out together: every
// logFlushEvery, when its buffer is full, on Flush and on Close. A write
// that does not fit into what is left of the buffer goes after what it
// holds, so a line is written whole (unless it is larger than the buffer).
//
// After Close, writes go straight to the writer underneath (work that
// outlives the shutdown still logs). A write out that fails loses what the
// buffer held, not the lines after it.
type logBuffer struct {
	mu     sync.Mutex
	out    io.Writer
	w      *bufio.Writer
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

func newLogBuffer(w io.Writer, every time.Duration) *logBuffer {
	b := &logBuffer{out: w, w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				_ = b.Flush()
			}
		}
	}()
	return b
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return b.out.Write(p)
	}
	if len(p) > b.w.Available() && b.w.Buffered() > 0 {
		if err := b.flush(); err != nil {
			return 0, err
		}
	}
	return b.w.Write(p)
}

// Flush writes out what the buffer holds.
func (b *logBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flush()
}

// flush writes out the buffer; after a failure it starts afresh (a
// bufio.Writer would otherwise refuse every later write).
func (b *logBuffer) flush() error {
	err := b.w.Flush()
	if err != nil {
		b.w.Reset(b.out)
	}
	return err
}

// Close stops the periodic writes and writes out the rest; later writes go
// straight through.
func (b *logBuffer) Close() error {
	close(b.stop)
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return b.flush()
}

// flushingHandler writes the log out at once after a warning or an error,
// with everything before it.
type flushingHandler struct {
	slog.Handler
	buf *logBuffer
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := h.buf.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(attrs), h.buf}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.buf}
}
