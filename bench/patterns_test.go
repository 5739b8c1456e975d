package bench

import (
	"context"
	"testing"
	"time"

	"github.com/poolgen/poolgen/bench/tasks"
)

// timedThroughput is measure for tasks.Timed, which counts on its
// Recorder: b.N identical tasks from one submitter.
func timedThroughput(b *testing.B, c contestant[tasks.Timed], rounds int) {
	b.ReportAllocs()
	p, err := c.start(config{workers: gomaxprocs()})
	if err != nil {
		b.Fatalf("%s: start: %v", c.name, err)
	}
	rec := tasks.NewRecorder(0)
	b.ResetTimer()
	if err := p.submitN(context.Background(), tasks.Timed{R: rec, N: rounds}, b.N); err != nil {
		b.Fatalf("%s: submit: %v", c.name, err)
	}
	if err := waitCount(&rec.C, int64(b.N), 30*time.Second); err != nil {
		b.Fatalf("%s: %v", c.name, err)
	}
	b.StopTimer()
	if err := p.close(); err != nil {
		b.Fatalf("%s: close: %v", c.name, err)
	}
	if got := rec.C.Load(); got != int64(b.N) {
		b.Fatalf("%s: %d tasks ran, want exactly %d", c.name, got, b.N)
	}
}
