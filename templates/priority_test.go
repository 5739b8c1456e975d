package templates_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// rankJob is a task for the priority pattern's pools: it has a priority, a
// deadline and a cost, and runs fn (if any).
type rankJob struct {
	id   int
	prio int64
	due  time.Time
	cost int64
	fn   func(ctx context.Context) error
}

func (j rankJob) Run(ctx context.Context) error {
	if j.fn != nil {
		return j.fn(ctx)
	}
	return nil
}

func (j rankJob) Priority() int64     { return j.prio }
func (j rankJob) Deadline() time.Time { return j.due }
func (j rankJob) Cost() int64         { return j.cost }

// rankPool is what the tests need of the three pools.
type rankPool interface {
	Submit(ctx context.Context, t rankJob) error
	TrySubmit(t rankJob) error
	Shutdown(ctx context.Context) error
	ShutdownNow() []rankJob
	Stats() poolrt.Stats
}

// startRankPool makes a pool with newPool and shuts it down when the test ends.
func startRankPool[P rankPool](t *testing.T, newPool func(...poolrt.Option) (P, error), opts ...poolrt.Option) P {
	t.Helper()
	p, err := newPool(opts...)
	require.NoError(t, err)
	t.Cleanup(func() { p.ShutdownNow() })
	return p
}

// rankSleep returns a task body that takes d (fake time under synctest).
func rankSleep(d time.Duration) func(context.Context) error {
	return func(context.Context) error { time.Sleep(d); return nil }
}

// rankGate returns a task body that blocks until release is called (or the
// pool stops), and a channel that says when it started.
func rankGate() (fn func(context.Context) error, started <-chan struct{}, release func()) {
	st, rel := make(chan struct{}, 1), make(chan struct{})
	var once sync.Once
	return func(ctx context.Context) error {
			st <- struct{}{}
			select {
			case <-rel:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}, st, func() {
			once.Do(func() { close(rel) })
		}
}

// rankAgingCase describes, for one pool, the aging bound test: a stream of
// tasks of the best rank and a few tasks dist ranks worse.
type rankAgingCase struct {
	newPool func(...poolrt.Option) (rankPool, error)
	// job makes a task dist ranks worse than the stream's (0: the stream's).
	job func(dist int64, fn func(context.Context) error) rankJob
	// lowBand puts the stream and the worse tasks in different bands.
	lowBand poolrt.Option
}

var rankPriorityAging = rankAgingCase{
	newPool: func(opts ...poolrt.Option) (rankPool, error) { return templates.NewPriorityPool[rankJob](opts...) },
	job: func(dist int64, fn func(context.Context) error) rankJob {
		return rankJob{prio: 10 - dist, fn: fn} // the stream has the top priority, 10
	},
	lowBand: poolrt.Bands(10),
}

// TestPriorityAgingBound states and measures the aging bound: under a
// sustained stream of top-priority work that keeps the queue full, a task
// dist levels below waits at least dist·every (no newer task may overtake
// it before then, and older ones always outrank it) and at most
// dist·every + (⌈(QueueSize−1)/Workers⌉ + 1)·d, for tasks that take d: once
// dist·every has passed no newcomer outranks it, and what does — at most
// QueueSize−1 queued tasks and the Workers running ones — is done in that
// time. Without aging the same tasks wait for the stream to end.
func TestPriorityAgingBound(t *testing.T) { rankAgingBound(t, rankPriorityAging) }

func rankAgingBound(t *testing.T, c rankAgingCase) {
	const (
		workers = 2
		size    = 64
		every   = 10 * time.Millisecond
		d       = time.Millisecond // each task's run time
		stream  = time.Second      // how long the stream lasts
	)
	drain := time.Duration((size-1+workers-1)/workers+1) * d
	for _, aging := range []bool{true, false} {
		t.Run(map[bool]string{true: "Aging", false: "NoAging"}[aging], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := []poolrt.Option{poolrt.Workers(workers), poolrt.QueueSize(size), poolrt.LatencySampling(1), c.lowBand}
				if aging {
					opts = append(opts, poolrt.Aging(every))
				}
				p := startRankPool(t, c.newPool, opts...)
				ctx := context.Background()
				t0 := time.Now()
				streamDone := make(chan struct{})
				go func() {
					// The stream refills the queue within poll of every
					// start, so that it stays full: the worst case. It
					// polls with TrySubmit rather than waiting in Submit so
					// that a task waiting for room in Submit gets the next
					// free slot: its admission time is then the moment a
					// slot frees up, not the luck of a race between two
					// waiting submitters.
					defer close(streamDone)
					const poll = 100 * time.Microsecond
					for time.Since(t0) < stream {
						switch err := p.TrySubmit(c.job(0, rankSleep(d))); {
						case errors.Is(err, poolrt.ErrQueueFull):
							time.Sleep(poll)
						case err != nil:
							t.Errorf("stream TrySubmit: %v", err)
							return
						}
					}
				}()

				type low struct {
					dist            int64
					at              time.Duration // when it is submitted
					called, started time.Duration
				}
				lows := []*low{{dist: 10, at: 50 * time.Millisecond}, {dist: 5, at: 300 * time.Millisecond}, {dist: 10, at: 310 * time.Millisecond}}
				for _, l := range lows {
					time.Sleep(l.at - time.Since(t0))
					// The pool stamps the task at the call, and ages it
					// from then, even while the call waits for room.
					l.called = time.Since(t0)
					require.NoError(t, p.Submit(ctx, c.job(l.dist, func(context.Context) error {
						l.started = time.Since(t0)
						time.Sleep(d)
						return nil
					})))
				}
				<-streamDone
				require.NoError(t, p.Shutdown(ctx))

				var maxWait time.Duration
				for _, l := range lows {
					wait := l.started - l.called
					maxWait = max(maxWait, wait)
					if !aging {
						assert.GreaterOrEqual(t, l.started, stream, "without aging, a task %d levels down (submitted at %v) starts only once the stream ends", l.dist, l.called)
						continue
					}
					lo := time.Duration(l.dist) * every
					hi := lo + drain
					t.Logf("%d levels down, submitted at %v: waited %v; bound [%v, %v]", l.dist, l.called, wait, lo, hi)
					assert.GreaterOrEqual(t, wait, lo, "a task %d levels down started before dist·every", l.dist)
					assert.LessOrEqual(t, wait, hi, "a task %d levels down waited beyond the aging bound", l.dist)
				}
				st := p.Stats()
				assert.Equal(t, maxWait, st.Priority.LowestMaxWait, "LowestMaxWait is the worst wait of the lowest class")
				assert.Greater(t, st.Completed, uint64(stream/d), "the stream kept the workers saturated")
				assert.Equal(t, st.Submitted, st.Completed, "every task ran")
				assert.Positive(t, st.Rejected, "the stream found the queue full")
			})
		})
	}
}

// TestPriorityBandStats: per-band counters and queue waits, with every
// task timed: one worker runs 1 ms tasks in priority order after being
// held for 10 ms, so every wait is known exactly.
func TestPriorityBandStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ms = time.Millisecond
		p := startRankPool(t, templates.NewPriorityPool[rankJob], poolrt.Workers(1), poolrt.LatencySampling(1), poolrt.Bands(0, 10))
		ctx := context.Background()
		fn, started, release := rankGate()
		require.NoError(t, p.Submit(ctx, rankJob{prio: 100, fn: fn}))
		<-started
		for _, prio := range []int64{-5, 5, -5, 50, 5, -5} {
			require.NoError(t, p.Submit(ctx, rankJob{prio: prio, fn: rankSleep(ms)}))
		}
		time.Sleep(10 * ms)
		release()
		require.NoError(t, p.Shutdown(ctx))

		st := p.Stats()
		ps := st.Priority
		require.NotNil(t, ps)
		assert.Equal(t, poolrt.ByPriority, ps.Kind)
		require.Len(t, ps.Bands, 3)
		// Start order: 50 at 10 ms, then 5, 5 at 11, 12 ms, then -5 ×3 at
		// 13, 14, 15 ms; the held task (100) waited 0.
		want := []struct {
			lo, hi           int64
			n                uint64
			maxWait, sumWait time.Duration
		}{
			{math.MinInt64, -1, 3, 15 * ms, 42 * ms},
			{0, 9, 2, 12 * ms, 23 * ms},
			{10, math.MaxInt64, 2, 10 * ms, 10 * ms},
		}
		for i, w := range want {
			b := ps.Bands[i]
			assert.Equal(t, w.lo, b.Lo, "band %d Lo", i)
			assert.Equal(t, w.hi, b.Hi, "band %d Hi", i)
			assert.Equal(t, w.n, b.Submitted, "band %d Submitted", i)
			assert.Equal(t, w.n, b.Completed, "band %d Completed", i)
			assert.Equal(t, w.n, b.Wait.Count, "band %d Wait.Count", i)
			assert.Equal(t, w.maxWait, b.Wait.Max, "band %d Wait.Max", i)
			assert.Equal(t, w.sumWait/time.Duration(w.n), b.Wait.Mean, "band %d Wait.Mean", i)
		}
		assert.Equal(t, 15*ms, ps.LowestMaxWait, "LowestMaxWait: the lowest band's worst wait")
		assert.Equal(t, 15*ms, st.Wait.Max, "Stats.Wait merges the bands")
		assert.Equal(t, uint64(7), st.Wait.Count, "Stats.Wait.Count")
		assert.Zero(t, ps.Missed+ps.Dropped+ps.HandedOff, "deadline counters of a priority pool")
	})
}

// TestPriorityZeroAllocs: Submit and run of tasks of varied priorities,
// with aging (a clock read per submit) and band lookups, allocate nothing.
func TestPriorityZeroAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts in -short mode")
	}
	defer goleak.VerifyNone(t)
	rankZeroAllocs(t, templates.NewPriorityPool[rankJob], func(i int) rankJob { return rankJob{prio: int64(i % 7)} },
		poolrt.Aging(time.Millisecond), poolrt.Bands(2, 4), poolrt.LatencySampling(2))
}

// TestPriorityRetryZeroAllocs: with retries and dead letters on, Submit
// and the run of tasks that succeed allocate nothing either: the token
// and the outcome are counted in place.
func TestPriorityRetryZeroAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts in -short mode")
	}
	defer goleak.VerifyNone(t)
	rankZeroAllocs(t, templates.NewPriorityPool[rankJob], func(i int) rankJob { return rankJob{prio: int64(i % 7)} },
		poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: 3, Initial: time.Millisecond, Max: time.Millisecond}),
		poolrt.OnDeadLetter(func(rankJob, error, int) {}))
}

// rankZeroAllocs checks that Submit, and Submit with the run of the task,
// allocate nothing in steady state.
func rankZeroAllocs[P rankPool](t *testing.T, newPool func(...poolrt.Option) (P, error), job func(i int) rankJob, opts ...poolrt.Option) {
	t.Helper()
	var ran sync.WaitGroup
	body := func(context.Context) error { ran.Done(); return nil } // made once: no allocation per task
	p := startRankPool(t, newPool, append([]poolrt.Option{poolrt.Workers(2), poolrt.QueueSize(1024)}, opts...)...)
	ctx := context.Background()
	i := 0
	submit := func() {
		j := job(i)
		j.fn = body
		i++
		ran.Add(1)
		if err := p.Submit(ctx, j); err != nil {
			t.Error(err)
			ran.Done()
		}
	}
	for range 64 {
		submit()
	}
	ran.Wait()
	assert.Zero(t, testing.AllocsPerRun(200, submit), "allocations per Submit")
	ran.Wait()
	assert.Zero(t, testing.AllocsPerRun(200, func() { submit(); ran.Wait() }), "allocations per Submit and run")
	require.NoError(t, p.Shutdown(ctx))
}

// TestPriorityExtremes: priorities at the ends of the int64 range keep
// their order (the key arithmetic saturates rather than wraps); where
// aging makes prio·every overflow, the saturated priorities share one key
// and keep submission order among themselves.
func TestPriorityExtremes(t *testing.T) {
	prios := []int64{math.MinInt64, 0, math.MaxInt64, -1 << 62, 1 << 62, math.MaxInt64 - 1}
	for _, c := range []struct {
		opts []poolrt.Option
		want []int // indexes into prios, in start order
	}{
		{nil, []int{2, 5, 4, 1, 3, 0}},
		{[]poolrt.Option{poolrt.Aging(time.Nanosecond)}, []int{2, 5, 4, 1, 3, 0}},
		// ±2^62 and beyond, times an hour, saturate: 2, 4, 5 and 0, 3
		// each share a key.
		{[]poolrt.Option{poolrt.Aging(time.Hour)}, []int{2, 4, 5, 1, 0, 3}},
	} {
		synctest.Test(t, func(t *testing.T) {
			p := startRankPool(t, templates.NewPriorityPool[rankJob], append(c.opts, poolrt.Workers(1))...)
			ctx := context.Background()
			fn, started, release := rankGate()
			require.NoError(t, p.Submit(ctx, rankJob{id: -1, fn: fn}))
			<-started
			var order []int
			for i, prio := range prios {
				require.NoError(t, p.Submit(ctx, rankJob{id: i, prio: prio, fn: func(context.Context) error {
					order = append(order, i)
					return nil
				}}))
			}
			release()
			require.NoError(t, p.Shutdown(ctx))
			assert.Equal(t, c.want, order, "start order (options %v)", c.opts)
		})
	}
}

// TestPriorityConfig: options that do not apply to the pool are
// configuration errors, and no pool starts.
func TestPriorityConfig(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, opt := range []poolrt.Option{poolrt.OnLate(poolrt.DropLate), poolrt.Aging(0), poolrt.Bands(2, 1)} {
		p, err := templates.NewPriorityPool[rankJob](opt)
		var ce *poolrt.ConfigError
		assert.True(t, errors.As(err, &ce), "NewPriorityPool(%v): %v", opt, err)
		assert.Nil(t, p)
		c, err := templates.NewCostPool[rankJob](opt)
		assert.True(t, errors.As(err, &ce), "NewCostPool(%v): %v", opt, err)
		assert.Nil(t, c)
	}
}
