package commands_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
)

// fillAudit adds n entries to the bench organization's audit stream, in
// pipelines of 1,000, ending now.
func fillAudit(b *testing.B, bb *benchBot, n int) {
	b.Helper()
	ctx := context.Background()
	rdb := bb.st.Client()
	if err := rdb.Del(ctx, "bb:{bench}:audit").Err(); err != nil {
		b.Fatal(err)
	}
	start := bb.now.UnixMilli() - int64(n)
	for i := 0; i < n; i += 1000 {
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for j := i; j < min(i+1000, n); j++ {
				p.XAdd(ctx, &redis.XAddArgs{Stream: "bb:{bench}:audit", ID: strconv.FormatInt(start+int64(j), 10) + "-0",
					Values: []any{"actor", "U" + strconv.Itoa(j%50), "action", "assign U7,U8", "target", "sub" + strconv.Itoa(j%300),
						"before", strconv.Itoa(j % 20), "after", strconv.Itoa(j%20 + 2)}})
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuditPage is one page of "admin audit" (newest first, ten
// rows) through Bot.Handle, with 10 and with 100,000 entries in the
// stream: a page reads only its own entries.
func BenchmarkAuditPage(b *testing.B) {
	for _, n := range []int{10, 100000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			bb := newBenchBot(b)
			fillAudit(b, bb, n)
			req := commands.Request{Text: "admin audit", Admin: true}
			if r := bb.do(b, req); len(r.Messages) == 0 || r.Messages[0].Table == nil || len(r.Messages[0].Table.Rows) != 10 {
				b.Fatalf("not a page of ten: %+v", r.Messages)
			}
			b.ReportAllocs()
			bb.measure(b, func(int) { bb.do(b, req) })
		})
	}
}

// peakHeap is a writer that throws its input away and samples the heap in
// use every 64 writes.
type peakHeap struct {
	writes int
	peak   uint64
}

func (p *peakHeap) Write(b []byte) (int, error) {
	if p.writes++; p.writes%64 == 1 {
		p.sample()
	}
	return io.Discard.Write(b)
}

func (p *peakHeap) sample() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	p.peak = max(p.peak, m.HeapInuse)
}

// BenchmarkAuditCSV is the CSV download of 1,000 and of 100,000 entries:
// B/op per entry and the peak heap in use while it is written show that
// its memory does not grow with the stream.
func BenchmarkAuditCSV(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			bb := newBenchBot(b)
			fillAudit(b, bb, n)
			l := commands.AuditLink{Org: "bench", User: "owner", Lang: "de", Expires: bb.now.Add(commands.AuditLinkTTL)}
			runtime.GC()
			w := &peakHeap{}
			w.sample()
			base := w.peak
			w.peak = 0
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := bb.bot.WriteAuditCSV(context.Background(), w, l); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(w.peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(base)/(1<<20), "heap-before-MiB")
		})
	}
}
