package poolimpl

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// gatedTask runs until its gate, if any, is closed.
type gatedTask struct {
	gate chan struct{}
	ran  *atomic.Int64
}

func (g gatedTask) Run(context.Context) error {
	if g.gate != nil {
		<-g.gate
	}
	g.ran.Add(1)
	return nil
}

// TestPaceOn: Submit paces only in a fixed pool with the default queue,
// OnFull(Block) and sampled run times.
func TestPaceOn(t *testing.T) {
	cases := []struct {
		name    string
		pattern config.Pattern
		opts    []poolrt.Option
		want    bool
	}{
		{"default", config.Fixed, nil, true},
		{"QueueSize given", config.Fixed, []poolrt.Option{poolrt.QueueSize(1024)}, false},
		{"OnFull(Reject)", config.Fixed, []poolrt.Option{poolrt.OnFull(poolrt.Reject)}, false},
		{"OnFull(CallerRuns)", config.Fixed, []poolrt.Option{poolrt.OnFull(poolrt.CallerRuns)}, false},
		{"metrics off", config.Fixed, []poolrt.Option{poolrt.Metrics(false)}, false},
		{"dynamic", config.Dynamic, nil, false},
		{"Shed", config.Fixed, []poolrt.Option{poolrt.Shed(poolrt.ShedPolicy{Target: time.Millisecond, Interval: 100 * time.Millisecond})}, false},
		{"Retry", config.Fixed, []poolrt.Option{poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: 2, Initial: time.Millisecond, Max: time.Millisecond})}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set, err := config.Resolve(c.pattern, c.opts)
			require.NoError(t, err)
			e := new(engine[dynCount])
			require.NoError(t, e.init(set, c.pattern, 2, 0, testLane[dynCount]())) // no worker goroutines
			t.Cleanup(func() { e.shutdownNow() })
			require.Equal(t, c.want, e.pace.on)
		})
	}
}

// TestPaceBound: the queue depth at which Submit paces holds paceWork of
// work per worker by the mean run time, at least paceMin tasks a worker;
// none before a task was timed, nor when that would be the whole queue.
// Each shard holds its share, rounded up.
func TestPaceBound(t *testing.T) {
	cases := []struct {
		name  string
		mean  time.Duration
		want  int64
		shard uint64 // of 3 shards
	}{
		{"untimed", 0, 0, 0},
		{"10µs", 10 * time.Microsecond, 4 * int64(paceWork/(10*time.Microsecond)), uint64(4*int64(paceWork/(10*time.Microsecond))+2) / 3},
		{"1ms", time.Millisecond, 4 * paceMin, 3},
		{"tiny", 50 * time.Nanosecond, 0, 0}, // 3,000 tasks a worker: more than the queue holds
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := pacer{on: true, workers: 4, cap: 1024, runs: new(RunMean)}
			if c.mean > 0 {
				p.runs.Record(c.mean)
			}
			require.Equal(t, c.want, p.bound())
			require.Equal(t, c.shard, p.shardBound(3))
			p.on = false
			require.Zero(t, p.shardBound(3))
		})
	}
}

// newPacedEngine returns, in a synctest bubble, a fixed engine of one
// worker with the default queue, whose tasks' mean run time is set so
// that Submit paces once 2 accepted tasks have not started; its worker
// runs a first task that blocks until the returned gate is closed.
func newPacedEngine(t *testing.T, ran *atomic.Int64) (*engine[gatedTask], chan struct{}) {
	t.Helper()
	set, err := config.Resolve(config.Fixed, []poolrt.Option{poolrt.Workers(1), poolrt.LatencySampling(1)})
	require.NoError(t, err)
	e := new(engine[gatedTask])
	require.NoError(t, e.init(set, config.Fixed, 1, 1, testLane[gatedTask]()))
	t.Cleanup(func() { e.shutdownNow() })
	e.runs.Record(paceWork / paceMin)
	require.Equal(t, uint64(paceMin), e.pace.shardBound(len(e.q.shards)))
	synctest.Wait()
	gate := make(chan struct{})
	require.NoError(t, e.submit(context.Background(), gatedTask{gate, ran}))
	synctest.Wait() // the worker runs it
	return e, gate
}

// fillBound queues as many tasks as make the next Submit pace, none of
// them paced.
func fillBound(t *testing.T, e *engine[gatedTask], ran *atomic.Int64) {
	t.Helper()
	start := time.Now()
	for range paceMin {
		require.NoError(t, e.submit(context.Background(), gatedTask{ran: ran}))
	}
	require.Zero(t, time.Since(start), "Submit paced under the bound")
}

// submitAsync calls submit on a goroutine of its own and returns a
// channel that yields its error and how long it took.
func submitAsync(submit func() error) chan submitted {
	done := make(chan submitted, 1)
	go func() {
		start := time.Now()
		err := submit()
		done <- submitted{err, time.Since(start)}
	}()
	return done
}

type submitted struct {
	err  error
	took time.Duration
}

// requireWaiting fails the test if the submission behind done returned.
func requireWaiting(t *testing.T, done chan submitted) {
	t.Helper()
	synctest.Wait()
	select {
	case s := <-done:
		t.Fatalf("Submit returned (%v) while the workers were behind", s.err)
	default:
	}
}

// TestPacedSubmitWaitsForStart: once the workers are behind by the pace
// bound, Submit and SubmitWait wait, as for a full queue, until a worker
// starts a task.
func TestPacedSubmitWaitsForStart(t *testing.T) {
	for _, wait := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			var ran atomic.Int64
			e, gate := newPacedEngine(t, &ran)
			fillBound(t, e, &ran)
			done := submitAsync(func() error {
				if wait {
					return e.submitWait(context.Background(), gatedTask{ran: &ran})
				}
				return e.submit(context.Background(), gatedTask{ran: &ran})
			})
			requireWaiting(t, done)
			require.Equal(t, paceMin, e.q.len(), "the paced task was queued")
			close(gate) // the worker ends its task and starts the next
			synctest.Wait()
			s := <-done
			require.NoError(t, s.err)
			require.Zero(t, s.took, "Submit waited for the stall check, not for the start")
			require.NoError(t, e.shutdown(context.Background()))
			require.Equal(t, int64(2+paceMin), ran.Load())
		})
	}
}

// TestPacedSubmitStalledWorkers: a paced Submit that sees no task start
// is let through by the stall check after its timeout, and Submit no
// longer paces until a task starts: workers that wait for the submitter
// (a gate it opens later, a task it submits) hold it once, not at every
// call.
func TestPacedSubmitStalledWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ran atomic.Int64
		e, gate := newPacedEngine(t, &ran)
		gate2 := make(chan struct{})
		require.NoError(t, e.submit(context.Background(), gatedTask{gate2, &ran}))
		require.NoError(t, e.submit(context.Background(), gatedTask{ran: &ran}))
		timeout := e.pace.timeout()
		start := time.Now()
		require.NoError(t, e.submit(context.Background(), gatedTask{ran: &ran}))
		require.Equal(t, timeout, time.Since(start), "the paced wait lasts the timeout")
		start = time.Now()
		for range 10 {
			require.NoError(t, e.submit(context.Background(), gatedTask{ran: &ran}))
		}
		require.Zero(t, time.Since(start), "Submit paced workers that start nothing")
		require.Equal(t, 13, e.q.len())

		// A task starts (the one behind gate2): pacing resumes.
		close(gate)
		synctest.Wait()
		done := submitAsync(func() error { return e.submit(context.Background(), gatedTask{ran: &ran}) })
		requireWaiting(t, done)
		close(gate2)
		synctest.Wait()
		require.Zero(t, (<-done).took)
		require.NoError(t, e.shutdown(context.Background()))
		require.Equal(t, int64(15), ran.Load())
	})
}

// TestPacedSubmitEnds: a paced Submit returns its context's error when
// the context ends and ErrClosed when the pool stops, as a wait for room
// does; the task is not accepted.
func TestPacedSubmitEnds(t *testing.T) {
	t.Run("context", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var ran atomic.Int64
			e, gate := newPacedEngine(t, &ran)
			fillBound(t, e, &ran)
			ctx, cancel := context.WithCancel(context.Background())
			done := submitAsync(func() error { return e.submitWait(ctx, gatedTask{ran: &ran}) })
			requireWaiting(t, done)
			cancel()
			synctest.Wait()
			require.ErrorIs(t, (<-done).err, context.Canceled)
			close(gate)
			require.NoError(t, e.shutdown(context.Background()))
			require.Equal(t, int64(1+paceMin), ran.Load(), "the refused task did not run")
			require.Equal(t, uint64(1+paceMin), e.stats().Submitted)
		})
	})
	t.Run("ShutdownNow", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var ran atomic.Int64
			e, gate := newPacedEngine(t, &ran)
			fillBound(t, e, &ran)
			done := submitAsync(func() error { return e.submit(context.Background(), gatedTask{ran: &ran}) })
			requireWaiting(t, done)
			stopped := make(chan []gatedTask)
			go func() { stopped <- e.shutdownNow() }()
			synctest.Wait()
			require.ErrorIs(t, (<-done).err, poolrt.ErrClosed)
			close(gate)
			require.Len(t, <-stopped, paceMin, "the queued tasks handed back")
		})
	})
}

// sleepTask runs for d of the bubble's time.
type sleepTask struct {
	d   time.Duration
	ran *atomic.Int64
}

func (s sleepTask) Run(context.Context) error {
	time.Sleep(s.d)
	s.ran.Add(1)
	return nil
}

// TestPacedSubmittersKeepPacing: paced submitters that wait longer than
// the stall check's timeout while tasks keep starting stay paced: the
// check re-arms on progress and gives up only on none.
func TestPacedSubmittersKeepPacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		set, err := config.Resolve(config.Fixed, []poolrt.Option{poolrt.Workers(1), poolrt.LatencySampling(1)})
		require.NoError(t, err)
		e := new(engine[sleepTask])
		require.NoError(t, e.init(set, config.Fixed, 1, 1, testLane[sleepTask]()))
		defer e.shutdownNow()
		const run = paceWork / paceMin // a bound of paceMin tasks
		e.runs.Record(run)
		var ran atomic.Int64
		const submitters, each = 4, 10
		start := time.Now()
		var wg sync.WaitGroup
		for range submitters {
			wg.Go(func() {
				for range each {
					require.NoError(t, e.submit(context.Background(), sleepTask{run, &ran}))
				}
			})
		}
		wg.Wait()
		took := time.Since(start)
		require.Zero(t, e.pace.stalled.Load(), "the stall check gave up on working workers")
		// Paced, the submitters wait for all but the last bound's worth
		// of tasks to start, and each runs run.
		require.GreaterOrEqual(t, took, time.Duration(submitters*each-paceMin-1)*run)
		require.Greater(t, took, 2*e.pace.timeout(), "the run spans several stall checks")
		require.NoError(t, e.shutdown(context.Background()))
		require.Equal(t, int64(submitters*each), ran.Load())
	})
}

// TestPaceLoad: the pacer measures the offered load (submissions times
// the tasks' mean run time over the workers' time) over windows of at
// least loadWindow, each averaged with the last. At paceLoad or more,
// Submit does not pace, and a timer measures the load every loadWindow
// until it is under; then Submit paces again.
func TestPaceLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ran atomic.Int64
		e, gate := newPacedEngine(t, &ran) // one worker, tasks of paceWork/paceMin
		open := sync.OnceFunc(func() { close(gate) })
		t.Cleanup(open) // before the engine's: a failed test must not deadlock it
		// The submissions that offer load over a window, counted as run by
		// their callers: the shard's Submitted count is the queue's tail.
		submit := func(load float64) {
			e.meter.Shards[0].CallerRuns.Add(uint64(load * float64(loadWindow) / float64(paceWork/paceMin)))
		}
		require.False(t, e.loaded(), "the first window has not closed")
		submit(0.4)
		time.Sleep(loadWindow)
		require.False(t, e.loaded(), "0.4")
		submit(0.9)
		time.Sleep(loadWindow)
		require.False(t, e.loaded(), "0.9 after 0.4: one high window alone")
		submit(0.9)
		time.Sleep(loadWindow / 2)
		require.False(t, e.loaded(), "the window has not closed")
		time.Sleep(loadWindow / 2)
		require.True(t, e.loaded(), "0.9 after 0.9")

		start := time.Now()
		fillBound(t, e, &ran)
		require.NoError(t, e.submit(context.Background(), gatedTask{ran: &ran}))
		require.Zero(t, time.Since(start), "Submit paced at high load")
		require.Equal(t, paceMin+1, e.q.len())
		require.Zero(t, e.stats().Paced)

		submit(paceLoad - 0.05)
		time.Sleep(loadWindow + time.Millisecond)
		require.True(t, e.pace.high.Load(), "0.65 after 0.9, measured by the timer")
		submit(paceLoad - 0.05)
		time.Sleep(loadWindow)
		require.False(t, e.pace.high.Load(), "0.65 after 0.65, measured by the timer")

		done := submitAsync(func() error { return e.submit(context.Background(), gatedTask{ran: &ran}) })
		requireWaiting(t, done) // paced again
		require.Equal(t, uint64(1), e.stats().Paced)
		stopped := make(chan []gatedTask)
		go func() { stopped <- e.shutdownNow() }()
		synctest.Wait()
		require.ErrorIs(t, (<-done).err, poolrt.ErrClosed)
		open()
		require.Len(t, <-stopped, paceMin+1, "the queued tasks handed back")
	})
}
