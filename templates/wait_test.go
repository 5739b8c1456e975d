package templates_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// TestDeadlineSubmitWaitLate: a late task that a deadline pool drops, or
// hands to its late handler, ends its SubmitWait with a
// *poolrt.DeadlineError rather than a success it never had; the dropped
// one's error goes to its waiting submitter, not OnError.
func TestDeadlineSubmitWaitLate(t *testing.T) {
	for _, handOff := range []bool{false, true} {
		name := map[bool]string{false: "DropLate", true: "HandOff"}[handOff]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var rec rankRecorder
				var handed []int
				var handler func(rankJob)
				opts := append(rec.opts(), poolrt.Workers(1))
				if handOff {
					handler = func(j rankJob) { handed = append(handed, j.id) }
				} else {
					opts = append(opts, poolrt.OnLate(poolrt.DropLate))
				}
				p, err := templates.NewDeadlinePool(handler, opts...)
				require.NoError(t, err)
				defer p.ShutdownNow()
				ctx := context.Background()
				fn, started, release := rankGate()
				require.NoError(t, p.Submit(ctx, rankJob{id: 0, fn: fn}))
				<-started
				done := make(chan error, 1)
				go func() {
					done <- p.SubmitWait(ctx, rankJob{id: 1, due: time.Now().Add(10 * time.Millisecond)})
				}()
				time.Sleep(50 * time.Millisecond)
				release()
				err = <-done
				var de *poolrt.DeadlineError
				if assert.ErrorAs(t, err, &de, "SubmitWait of a late task") {
					assert.Equal(t, 1, de.Task.(rankJob).id)
					assert.Equal(t, 40*time.Millisecond, de.Late, "Late")
				}
				require.NoError(t, p.Shutdown(ctx))
				assert.Empty(t, rec.errs, "the late task's error went to its submitter")
				if handOff {
					assert.Equal(t, []int{1}, handed, "the handler still gets the task")
				}
			})
		})
	}
}

// stealJob blocks on its gate, if it has one.
type stealJob struct {
	id   int
	gate chan struct{}
}

func (j stealJob) Run(ctx context.Context) error {
	if j.gate != nil {
		select {
		case <-j.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// TestStealingSubmitWaitDeque: a worker of a work-stealing pool moves a
// batch of submitted tasks from the injector into its deque; if the pool
// is stopped before they run, ShutdownNow hands them back from the deque
// and their waiting submitters hear poolrt.ErrClosed.
func TestStealingSubmitWaitDeque(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := templates.NewStealingPool[stealJob](poolrt.Workers(1), poolrt.Metrics(false))
		require.NoError(t, err)
		ctx := context.Background()
		gate0, gate1 := make(chan struct{}), make(chan struct{})
		const n = 6
		results := make([]chan error, n)
		for id := range n {
			j := stealJob{id: id}
			switch id {
			case 0:
				j.gate = gate0
			case 1:
				j.gate = gate1
			}
			results[id] = make(chan error, 1)
			go func() { results[id] <- p.SubmitWait(ctx, j) }()
			synctest.Wait() // in order: 0 runs, the others queue behind it
		}
		close(gate0)
		synctest.Wait() // the worker took 1..n-1 in one batch: 1 runs, the rest wait in its deque
		require.Equal(t, n-2, p.Stats().QueueDepth, "tasks held, not started")
		returned := p.ShutdownNow()
		assert.Len(t, returned, n-2, "the deque's tasks are handed back")
		assert.NoError(t, <-results[0])
		assert.ErrorIs(t, <-results[1], context.Canceled, "the running task's own error: ShutdownNow canceled its context")
		for id := 2; id < n; id++ {
			assert.ErrorIs(t, <-results[id], poolrt.ErrClosed, "SubmitWait of task %d, handed back", id)
		}
	})
}

// BenchmarkSubmitWait measures a round trip: queue a tiny task, wait for
// its outcome (the cost of request/response use, parking included), with
// one caller and with GOMAXPROCS callers.
func BenchmarkSubmitWait(b *testing.B) {
	p, err := templates.NewFixedPool[stealJob](poolrt.Workers(2))
	require.NoError(b, err)
	defer p.Shutdown(context.Background())
	ctx := context.Background()
	b.Run("callers=1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := p.SubmitWait(ctx, stealJob{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("callers=gomaxprocs", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := p.SubmitWait(ctx, stealJob{}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
