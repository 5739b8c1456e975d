package conformance

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// paceRun is the run time of the scenario's first task: so long that the
// pace bound is its floor, 2 tasks a worker.
const paceRun = time.Millisecond

// testPacing: a fixed pool whose queue size is the default paces its
// submitters (poolrt.QueueSize): with one worker busy and 2 tasks
// queued, the next Submit (or SubmitWait) waits although the queue has
// room, until the worker starts a task, and Stats.Paced counts it. With
// QueueSize given, and in every other pattern, Submit waits for a full
// queue only.
func testPacing[T any](t *testing.T, s *suite[T]) {
	for _, c := range []struct {
		name  string
		opts  []poolrt.Option
		paced bool
	}{
		{"DefaultQueue", nil, s.Pattern == Fixed},
		{"QueueSize", []poolrt.Option{poolrt.QueueSize(1024)}, false},
	} {
		for _, wait := range []bool{false, true} {
			name := c.name + "/Submit"
			if wait {
				name = c.name + "/SubmitWait"
			}
			t.Run(name, func(t *testing.T) {
				bubble(t, func(t *testing.T) { paceScenario(t, s, c.opts, c.paced, wait) })
			})
		}
	}
}

func paceScenario[T any](t *testing.T, s *suite[T], opts []poolrt.Option, paced, wait bool) {
	const n = 5
	ctl := probe.New(n)
	gate := make(chan struct{})
	ctl.SetFunc(0, func(context.Context) error { time.Sleep(paceRun); return nil })
	ctl.SetFunc(1, func(context.Context) error { <-gate; return nil })
	p := s.start(t, 1, append([]poolrt.Option{poolrt.LatencySampling(1)}, opts...)...)
	ctx := context.Background()
	// Task 0 gives the pool its tasks' run time; task 1 holds the worker.
	require.NoError(t, p.Submit(ctx, s.Task(ctl, 0)))
	time.Sleep(2 * paceRun)
	synctest.Wait()
	require.Equal(t, 1, ctl.Ended(), "the first task ended")
	require.NoError(t, p.Submit(ctx, s.Task(ctl, 1)))
	synctest.Wait()
	start := time.Now()
	for id := 2; id < 4; id++ {
		require.NoError(t, p.Submit(ctx, s.Task(ctl, id)))
	}
	require.Zero(t, time.Since(start), "Submit waited under the pace bound")

	done := make(chan error, 1)
	go func() {
		if wait {
			done <- p.SubmitWait(ctx, s.Task(ctl, 4))
			return
		}
		done <- p.Submit(ctx, s.Task(ctl, 4))
	}()
	synctest.Wait()
	var want uint64
	if paced {
		want = 1
		select {
		case err := <-done:
			t.Fatalf("Submit returned (%v) with the worker behind by the pace bound", err)
		default:
		}
		require.Equal(t, 2, p.Stats().QueueDepth, "the paced task was queued")
		require.Equal(t, want, p.Stats().Paced)
		close(gate) // the worker starts task 2, and the paced call goes in
		synctest.Wait()
		require.NoError(t, <-done)
	} else {
		if !wait {
			require.NoError(t, <-done, "Submit with room in the queue")
		}
		require.Equal(t, want, p.Stats().Paced)
		close(gate)
		if wait {
			require.NoError(t, <-done)
		}
	}
	require.NoError(t, p.Shutdown(ctx))
	require.Equal(t, want, p.Stats().Paced, "a paced call is counted once")
	assertRuns(t, ctl, 1, span(0, n)...)
}
