package conformance

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// behaviorOf spreads failing, panicking and exiting tasks over the ids.
func behaviorOf(id int) probe.Behavior {
	switch {
	case id%97 == 11:
		return probe.Goexit
	case id%31 == 5:
		return probe.Panic
	case id%7 == 3:
		return probe.Fail
	}
	return probe.Succeed
}

// testExactlyOnce: many submitters, some with Submit and some with
// TrySubmit (retrying on ErrQueueFull), on a small queue; after Shutdown
// every task ran exactly once and the counters and handlers agree.
func testExactlyOnce[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) { exactlyOnce(t, s) })
}

func exactlyOnce[T any](t *testing.T, s *suite[T]) {
	const submitters, per = 8, 1000
	const n = submitters * per
	ctl := probe.New(n)
	var fails, panics int
	wantPanic := map[int]probe.Behavior{}
	for id := range n {
		b := behaviorOf(id)
		ctl.Set(id, b)
		switch b {
		case probe.Fail:
			fails++
		case probe.Panic, probe.Goexit:
			panics++
			wantPanic[id] = b
		}
	}
	var rec recorder
	p := s.start(t, 4, append(rec.opts(), poolrt.QueueSize(64))...)

	var full atomic.Uint64
	var wg sync.WaitGroup
	for g := range submitters {
		wg.Go(func() {
			for k := range per {
				id := k*submitters + g
				task := s.Task(ctl, id)
				if g%2 == 0 {
					if err := p.Submit(context.Background(), task); err != nil {
						t.Errorf("Submit(%d): %v", id, err)
						return
					}
					continue
				}
				// Retry on a full queue. Sleeping (fake time) lets the
				// bubble settle first; a queue still full then for a
				// whole second means the workers stopped taking tasks.
				deadline := time.Now().Add(time.Second)
				for {
					err := p.TrySubmit(task)
					if err == nil {
						break
					}
					if !errors.Is(err, poolrt.ErrQueueFull) {
						t.Errorf("TrySubmit(%d): %v", id, err)
						return
					}
					full.Add(1)
					if time.Now().After(deadline) {
						t.Errorf("TrySubmit(%d): the queue stayed full for a second", id)
						return
					}
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, p.Shutdown(context.Background()))

	assertRuns(t, ctl, 1, span(0, n)...)
	assert.Equal(t, n, ctl.Total(), "task runs started")
	assert.Equal(t, n, ctl.Ended(), "task runs ended")

	st := p.Stats()
	assert.Equal(t, uint64(n), st.Submitted, "Submitted")
	assert.Equal(t, uint64(n-panics), st.Completed, "Completed")
	assert.Equal(t, uint64(fails), st.Failed, "Failed")
	assert.Equal(t, uint64(panics), st.Panicked, "Panicked")
	assert.Zero(t, st.Returned, "Returned")
	assert.Zero(t, st.CallerRuns, "CallerRuns")
	assert.Equal(t, full.Load(), st.Rejected, "Rejected counts every ErrQueueFull")
	assertSettled(t, st)

	errs := rec.failed()
	assert.Len(t, errs, fails, "errors reported to OnError")
	for _, err := range errs {
		assert.ErrorIs(t, err, probe.ErrProbe)
	}
	pes := rec.panicked()
	ids := s.panicIDs(t, pes)
	assert.ElementsMatch(t, keysOf(wantPanic), ids, "tasks reported to OnPanic")
	for i, pe := range pes {
		if ids[i] >= 0 {
			checkPanicError(t, pe, wantPanic[ids[i]])
		}
	}
}

// Outcomes of a Submit or TrySubmit in the race tests.
const (
	outNone int32 = iota
	outAccepted
	outClosed
	outFull
)

// raceRound runs submitters against a pool while the main goroutine shuts
// it down (ShutdownNow when now, else Shutdown) once half-way. It checks
// invariant 1 for the round and returns how many submissions were accepted
// and how many refused with ErrClosed.
func raceRound[T any](t *testing.T, s *suite[T], r round) (accepted, closed int) {
	t.Helper()
	const n, submitters = 4096, 4
	policy, now, half := r.policy, r.now, r.half
	ctl := probe.New(n)
	for id := range n {
		switch {
		case now && id%16 == 5:
			ctl.Set(id, probe.Block) // canceled by ShutdownNow
		case id%13 == 0:
			ctl.Set(id, probe.Panic)
		case id%7 == 0:
			ctl.Set(id, probe.Fail)
		}
	}
	var rec recorder
	p := s.start(t, r.workers, append(rec.opts(), poolrt.QueueSize(64), poolrt.OnFull(policy))...)

	outcome := make([]atomic.Int32, n)
	var next, nAccepted atomic.Int64
	var full atomic.Uint64
	halfway := make(chan struct{})
	var wg sync.WaitGroup
	for g := range submitters {
		wg.Go(func() {
			for {
				id := int(next.Add(1) - 1)
				if id >= n {
					return
				}
				var err error
				if g%2 == 0 {
					err = p.Submit(context.Background(), s.Task(ctl, id))
				} else {
					err = p.TrySubmit(s.Task(ctl, id))
				}
				switch {
				case err == nil:
					outcome[id].Store(outAccepted)
					if nAccepted.Add(1) == half {
						close(halfway)
					}
				case errors.Is(err, poolrt.ErrClosed):
					outcome[id].Store(outClosed)
					return
				case errors.Is(err, poolrt.ErrQueueFull) && (g%2 == 1 || policy == poolrt.Reject):
					outcome[id].Store(outFull)
					full.Add(1)
					runtime.Gosched()
				default:
					t.Errorf("submitter %d, task %d (policy %v): unexpected error %v", g, id, policy, err)
					return
				}
			}
		})
	}
	submitted := make(chan struct{})
	go func() { wg.Wait(); close(submitted) }()
	select {
	case <-halfway:
	case <-submitted:
	}
	var returned []int
	if now {
		returned = s.ids(p.ShutdownNow())
		assert.Nil(t, p.ShutdownNow(), "a second ShutdownNow returns nil")
	} else {
		require.NoError(t, p.Shutdown(context.Background()))
	}
	<-submitted

	assertUnique(t, returned, "tasks returned by ShutdownNow")
	isReturned := make([]bool, n)
	for _, id := range returned {
		isReturned[id] = true
	}
	var bad []string
	for id := range min(int(next.Load()), n) {
		runs := ctl.Runs(id)
		switch o := outcome[id].Load(); o {
		case outAccepted:
			accepted++
			if got := runs + btoi(isReturned[id]); got != 1 {
				bad = append(bad, fmt.Sprintf("accepted task %d ran %d times and was returned %d times", id, runs, btoi(isReturned[id])))
			}
		case outClosed, outFull:
			closed += btoi(o == outClosed)
			if runs != 0 || isReturned[id] {
				bad = append(bad, fmt.Sprintf("refused task %d ran %d times, returned: %t", id, runs, isReturned[id]))
			}
		default:
			bad = append(bad, fmt.Sprintf("task %d has no outcome", id))
		}
	}
	if len(bad) > 0 {
		t.Errorf("%+v: %d violations of exactly-once, first ones: %v", r, len(bad), bad[:min(len(bad), 5)])
	}

	st := p.Stats()
	assert.Equal(t, uint64(accepted), st.Submitted, "Submitted counts accepted tasks")
	assert.Equal(t, uint64(len(returned)), st.Returned, "Returned")
	assert.Equal(t, full.Load(), st.Rejected, "Rejected counts every ErrQueueFull")
	assertSettled(t, st)
	if !now {
		assert.Empty(t, returned)
	}
	assert.ErrorIs(t, p.Submit(context.Background(), s.Task(ctl, 0)), poolrt.ErrClosed, "Submit after shutdown")
	assert.ErrorIs(t, p.TrySubmit(s.Task(ctl, 0)), poolrt.ErrClosed, "TrySubmit after shutdown")
	return accepted, closed
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// testShutdownRace: submitters race with Shutdown. Each submission either
// returned nil and its task ran exactly once, or was refused (ErrClosed,
// or ErrQueueFull where the policy allows it) and its task never ran.
func testShutdownRace[T any](t *testing.T, s *suite[T]) {
	raceRounds(t, s, false)
}

// testShutdownNowRace: submitters race with ShutdownNow while some tasks
// block. Every accepted task either ran exactly once or is in the slice
// ShutdownNow returned, never both; refused tasks neither ran nor were
// returned.
func testShutdownNowRace[T any](t *testing.T, s *suite[T]) {
	raceRounds(t, s, true)
}

// round is one configuration of a race test.
type round struct {
	policy  poolrt.Backpressure
	now     bool  // ShutdownNow rather than Shutdown
	half    int64 // shut down once this many submissions were accepted
	workers int
}

func raceRounds[T any](t *testing.T, s *suite[T], now bool) {
	// With ShutdownNow some tasks block until it cancels them, so the
	// queue (64) plus the workers bound what is accepted before then.
	halves := []int64{1, 16, 256, 1024}
	if now {
		halves = []int64{1, 8, 32, 60}
	}
	var rounds, accepted, closed int
	for _, policy := range []poolrt.Backpressure{poolrt.Block, poolrt.Reject, poolrt.CallerRuns} {
		for _, half := range halves {
			for _, workers := range []int{1, 3} {
				r := round{policy: policy, now: now, half: half, workers: workers}
				bubble(t, func(t *testing.T) {
					a, c := raceRound(t, s, r)
					accepted += a
					closed += c
				})
				rounds++
				if t.Failed() {
					return
				}
			}
		}
	}
	t.Logf("%d rounds: %d submissions accepted, %d refused with ErrClosed", rounds, accepted, closed)
	// Every round shuts down half-way through, so some submissions must
	// have met the closed pool; otherwise the test raced nothing.
	assert.Positive(t, accepted, "accepted submissions over all rounds")
	assert.Positive(t, closed, "submissions refused with ErrClosed over all rounds")
}

// testShutdownNowUnderLoad: with every worker blocked and the queue part
// full, ShutdownNow cancels the running tasks' context, returns exactly the
// queued tasks, and leaves a closed pool and no goroutine behind.
func testShutdownNowUnderLoad[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) { shutdownNowUnderLoad(t, s) })
	goleak.VerifyNone(t)
}

func shutdownNowUnderLoad[T any](t *testing.T, s *suite[T]) {
	const workers, queued = 2, 10
	ctl := probe.New(64)
	var rec recorder
	p := s.start(t, workers, append(rec.opts(), poolrt.QueueSize(16))...)
	s.block(t, p, ctl, span(0, workers)...)
	for id := workers; id < workers+queued; id++ {
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
	}
	assert.Equal(t, queued, p.Stats().QueueDepth, "QueueDepth before ShutdownNow")

	returned := s.ids(p.ShutdownNow())
	assert.ElementsMatch(t, span(workers, workers+queued), returned, "ShutdownNow returns every queued task, once")
	assertRuns(t, ctl, 0, span(workers, workers+queued)...)
	assertRuns(t, ctl, 1, span(0, workers)...)
	assert.Equal(t, workers, ctl.Ended(), "the blocked tasks returned")

	errs := rec.failed()
	assert.Len(t, errs, workers, "blocked tasks return the canceled context's error")
	for _, err := range errs {
		assert.ErrorIs(t, err, context.Canceled)
	}
	st := p.Stats()
	assert.Equal(t, uint64(workers+queued), st.Submitted, "Submitted")
	assert.Equal(t, uint64(queued), st.Returned, "Returned")
	assert.Equal(t, uint64(workers), st.Completed, "Completed")
	assert.Equal(t, uint64(workers), st.Failed, "Failed")
	assertSettled(t, st)

	assert.Nil(t, p.ShutdownNow(), "a second ShutdownNow returns nil")
	assert.ErrorIs(t, p.Submit(context.Background(), s.Task(ctl, 60)), poolrt.ErrClosed, "Submit after ShutdownNow")
	assert.ErrorIs(t, p.TrySubmit(s.Task(ctl, 61)), poolrt.ErrClosed, "TrySubmit after ShutdownNow")
	assert.NoError(t, p.Shutdown(context.Background()), "Shutdown after ShutdownNow")
	assertRuns(t, ctl, 0, 60, 61)
}

// testShutdownNowMidBatch: one worker runs a panicking task and then a
// blocking one from the same batch; ShutdownNow returns the rest of the
// batch, none of which ran.
func testShutdownNowMidBatch[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) { shutdownNowMidBatch(t, s) })
}

func shutdownNowMidBatch[T any](t *testing.T, s *suite[T]) {
	const n = 10
	ctl := probe.New(n)
	var rec recorder
	p := s.start(t, 1, rec.opts()...)
	release := ctl.Hold(0)
	s.occupy(t, p, ctl, 0)
	ctl.Set(1, probe.Panic)
	ctl.Set(2, probe.Block)
	for id := 1; id < n; id++ {
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
	}
	release()
	require.Equal(t, 2, awaitStarted(t, ctl), "the blocking task that started")

	returned := s.ids(p.ShutdownNow())
	assert.ElementsMatch(t, span(3, n), returned, "ShutdownNow returns the tasks that never started")
	assertRuns(t, ctl, 1, 0, 1, 2)
	assertRuns(t, ctl, 0, span(3, n)...)
	st := p.Stats()
	assert.Equal(t, uint64(1), st.Panicked, "Panicked")
	assert.Equal(t, uint64(n-3), st.Returned, "Returned")
	assertSettled(t, st)
	assert.Len(t, rec.panicked(), 1, "panics reported")
	assert.Nil(t, p.ShutdownNow(), "a second ShutdownNow returns nil")
}

// testShutdownDrains: Shutdown refuses new tasks at once, does not cancel
// running tasks, runs every queued task, and returns once they are done.
func testShutdownDrains[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const workers, queued = 2, 5
		ctl := probe.New(16)
		p := s.start(t, workers, poolrt.QueueSize(8))
		s.block(t, p, ctl, span(0, workers)...)
		for id := workers; id < workers+queued; id++ {
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		done := make(chan error, 1)
		go func() { done <- p.Shutdown(context.Background()) }()
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Shutdown returned %v while tasks were still running", err)
		default:
		}
		assert.Zero(t, ctl.Ended(), "Shutdown must not cancel running tasks")
		assert.ErrorIs(t, p.Submit(context.Background(), s.Task(ctl, 14)), poolrt.ErrClosed, "Submit while draining")
		assert.ErrorIs(t, p.TrySubmit(s.Task(ctl, 15)), poolrt.ErrClosed, "TrySubmit while draining")

		ctl.Release()
		require.NoError(t, <-done)
		assertRuns(t, ctl, 1, span(0, workers+queued)...)
		assertRuns(t, ctl, 0, 14, 15)
		st := p.Stats()
		assert.Equal(t, uint64(workers+queued), st.Completed, "Completed")
		assert.Zero(t, st.Failed, "Failed: the running tasks' context was not canceled")
		assert.Zero(t, st.Returned, "Returned")
		assertSettled(t, st)
		assert.Empty(t, p.ShutdownNow(), "ShutdownNow after a complete Shutdown")
		assert.NoError(t, p.Shutdown(context.Background()), "a second Shutdown")
	})
}

// testShutdownTimeout: Shutdown with a context that expires while tasks
// block returns the context's error at the deadline and leaves the pool
// draining; ShutdownNow then stops it, and no goroutine is left.
func testShutdownTimeout[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const workers, queued = 2, 3
		ctl := probe.New(16)
		p := s.start(t, workers, poolrt.QueueSize(8))
		s.block(t, p, ctl, span(0, workers)...)
		for id := workers; id < workers+queued; id++ {
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}

		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := p.Shutdown(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded, "Shutdown's error")
		assert.Equal(t, 100*time.Millisecond, time.Since(start), "Shutdown returned at the deadline")

		st := p.Stats()
		assert.Equal(t, workers, st.Workers, "workers still running after the timeout")
		assert.Equal(t, queued, st.QueueDepth, "tasks still queued after the timeout")
		assert.ErrorIs(t, p.Submit(context.Background(), s.Task(ctl, 14)), poolrt.ErrClosed, "Submit after a timed-out Shutdown")
		assert.ErrorIs(t, p.TrySubmit(s.Task(ctl, 15)), poolrt.ErrClosed, "TrySubmit after a timed-out Shutdown")

		returned := s.ids(p.ShutdownNow())
		assert.ElementsMatch(t, span(workers, workers+queued), returned, "ShutdownNow after the timeout")
		assertRuns(t, ctl, 1, span(0, workers)...)
		assertRuns(t, ctl, 0, span(workers, 16)...)
		st = p.Stats()
		assert.Equal(t, uint64(workers), st.Failed, "the blocked tasks saw their context canceled")
		assertSettled(t, st)
		assert.NoError(t, p.Shutdown(context.Background()), "Shutdown after ShutdownNow")
	})
	goleak.VerifyNone(t)
}
