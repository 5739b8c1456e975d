package poolimpl

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// sleepFail is a task that runs for d and fails.
type sleepFail struct {
	d    time.Duration
	runs *atomic.Int64
}

func (s sleepFail) Run(context.Context) error {
	s.runs.Add(1)
	time.Sleep(s.d)
	return errors.New("sleepFail: down")
}

// TestWatchdogRetriedRuns: a worker kept busy by short runs that fail and
// are retried, or dead-lettered, ends none of them as Completed; the
// watchdog still sees each run end, and reports nothing.
func TestWatchdogRetriedRuns(t *testing.T) {
	const d = 40 * time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		var stuck atomic.Int64
		p, err := NewFixedPool[sleepFail](poolrt.Workers(1), poolrt.QueueSize(64),
			poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: 4, Initial: time.Microsecond, Max: time.Microsecond}),
			poolrt.OnDeadLetter(func(sleepFail, error, int) {}),
			poolrt.Watchdog(d, func(poolrt.StuckTask) { stuck.Add(1) }))
		if err != nil {
			t.Fatal(err)
		}
		var runs atomic.Int64
		for range 32 {
			if err := p.Submit(context.Background(), sleepFail{d: d / 8, runs: &runs}); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		st := p.Stats()
		if runs.Load() != 128 || st.DeadLettered != 32 || st.Completed != 0 {
			t.Fatalf("%d runs, %d dead-lettered, %d completed; want 128, 32, 0", runs.Load(), st.DeadLettered, st.Completed)
		}
		if n := stuck.Load(); n != 0 || st.StuckTasks != 0 {
			t.Fatalf("%d reports, StuckTasks %d, for runs of %v under a threshold of %v", n, st.StuckTasks, d/8, d)
		}
	})
}

// TestWatchdogLogs: without a handler, a stuck task is logged as a
// warning with its worker and how long it has run; a threshold under a
// millisecond is a configuration error.
func TestWatchdogLogs(t *testing.T) {
	_, err := NewFixedPool[sleepFail](poolrt.Watchdog(time.Microsecond, nil))
	var ce *poolrt.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("Watchdog(1µs): %v, want a *poolrt.ConfigError", err)
	}
	var mu sync.Mutex
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	synctest.Test(t, func(t *testing.T) {
		p, err := NewFixedPool[sleepFail](poolrt.Workers(1), poolrt.Name("logs"), poolrt.Watchdog(time.Second, nil),
			poolrt.OnError(func(error) {}))
		if err != nil {
			t.Fatal(err)
		}
		var runs atomic.Int64
		if err := p.Submit(context.Background(), sleepFail{d: 2 * time.Second, runs: &runs}); err != nil {
			t.Fatal(err)
		}
		if err := p.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	for _, want := range []string{"level=WARN", `msg="poolgen: task running long"`, "pool=logs", "worker=0", "running=1s"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log has no %s:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "task running long"); n != 1 {
		t.Errorf("%d records of the stuck task, want 1:\n%s", n, out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
