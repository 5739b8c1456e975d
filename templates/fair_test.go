package templates_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// fairJob is a task of tenant who that runs fn (if any).
type fairJob struct {
	who string
	fn  func(ctx context.Context) error
}

func (j fairJob) Run(ctx context.Context) error {
	if j.fn != nil {
		return j.fn(ctx)
	}
	return nil
}

func (j fairJob) Tenant() string { return j.who }

func startFairPool(t *testing.T, opts ...poolrt.Option) *templates.FairPool[fairJob, string] {
	t.Helper()
	p, err := templates.NewFairPool[fairJob](opts...)
	require.NoError(t, err)
	t.Cleanup(func() { p.ShutdownNow() })
	return p
}

// fairShares runs tenants, each submitting tasks of its own run time as
// fast as the pool takes them, for d of fake time, and returns each
// tenant's share of the worker time its tasks used.
func fairShares(t *testing.T, d time.Duration, runs map[string]time.Duration, opts ...poolrt.Option) map[string]float64 {
	shares := map[string]float64{}
	synctest.Test(t, func(t *testing.T) {
		p := startFairPool(t, opts...)
		busy := map[string]*atomic.Int64{}
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for who, run := range runs {
			busy[who] = new(atomic.Int64)
			b := busy[who]
			wg.Go(func() {
				for ctx.Err() == nil {
					_ = p.Submit(ctx, fairJob{who: who, fn: func(context.Context) error {
						time.Sleep(run)
						b.Add(int64(run))
						return nil
					}})
				}
			})
		}
		time.Sleep(d)
		var all int64
		for _, b := range busy {
			all += b.Load()
		}
		for who, b := range busy {
			shares[who] = float64(b.Load()) / float64(all)
		}
		stop()
		p.ShutdownNow()
		wg.Wait()
	})
	return shares
}

// TestFairSharesByWeight: backlogged tenants of weights 1:2:3 get 1/6,
// 2/6 and 3/6 of the worker time within 5 points, though their tasks run
// for different times (so equal task counts would be far off).
func TestFairSharesByWeight(t *testing.T) {
	runs := map[string]time.Duration{"a": time.Millisecond, "b": 3 * time.Millisecond, "c": 2 * time.Millisecond}
	weights := map[string]int{"a": 1, "b": 2, "c": 3}
	for _, workers := range []int{1, 4} {
		shares := fairShares(t, 3*time.Second, runs, poolrt.Workers(workers), poolrt.TenantWeights(weights))
		t.Logf("workers %d: shares %v", workers, shares)
		for who, w := range weights {
			assert.InDelta(t, float64(w)/6, shares[who], 0.05, "workers %d, tenant %s: shares %v", workers, who, shares)
		}
	}
}

// TestFairSharesByWeightFunc: TenantWeight weighs tenants as TenantWeights
// does, and equal weights give equal time, not equal task counts.
func TestFairSharesByWeightFunc(t *testing.T) {
	runs := map[string]time.Duration{"x": time.Millisecond, "yy": 5 * time.Millisecond}
	shares := fairShares(t, 2*time.Second, runs, poolrt.Workers(3), poolrt.TenantWeight(func(k string) int { return len(k) }))
	t.Logf("weights 1:2: shares %v", shares)
	assert.InDelta(t, 1.0/3, shares["x"], 0.05, "%v", shares)
	shares = fairShares(t, 2*time.Second, runs, poolrt.Workers(3))
	t.Logf("weights 1:1: shares %v", shares)
	assert.InDelta(t, 0.5, shares["x"], 0.05, "%v", shares)
}

// quietWaits measures the queue waits of a quiet tenant that submits a
// task of run every gap, n times, while flood (if not nil) submits its
// own tasks through pool p; it returns them sorted.
func quietWaits(p interface {
	Submit(context.Context, fairJob) error
}, n int, gap, run time.Duration, flood func(ctx context.Context)) []time.Duration {
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if flood != nil {
		wg.Go(func() { flood(ctx) })
	}
	waits := make([]time.Duration, n)
	var done sync.WaitGroup
	for i := range n {
		at := time.Now()
		done.Add(1)
		_ = p.Submit(context.Background(), fairJob{who: "quiet", fn: func(context.Context) error {
			waits[i] = time.Since(at)
			time.Sleep(run)
			done.Done()
			return nil
		}})
		time.Sleep(gap)
	}
	done.Wait()
	stop()
	wg.Wait()
	slices.Sort(waits)
	return waits
}

func p99(sorted []time.Duration) time.Duration { return sorted[(len(sorted)*99-1)/100] }

// TestFairQuietTenant: a quiet tenant's wait P99 while another tenant
// floods the pool stays within its P99 when the other keeps to its share,
// plus one task's run time.
func TestFairQuietTenant(t *testing.T) {
	const run = 2 * time.Millisecond
	measure := func(floods bool) time.Duration {
		var got time.Duration
		synctest.Test(t, func(t *testing.T) {
			p := startFairPool(t, poolrt.Workers(4), poolrt.QueueSize(4096), poolrt.TenantQueueSize(1024))
			other := func(ctx context.Context) {
				for ctx.Err() == nil {
					_ = p.Submit(ctx, fairJob{who: "other", fn: rankSleep(run)})
					if !floods {
						time.Sleep(run) // half the workers: its share
					}
				}
			}
			got = p99(quietWaits(p, 400, 5*time.Millisecond, run, other))
			p.ShutdownNow()
		})
		return got
	}
	atShare, flooded := measure(false), measure(true)
	// The same flood through a FIFO pool of the same size, for scale.
	var fifo time.Duration
	synctest.Test(t, func(t *testing.T) {
		p, err := templates.NewFixedPool[fairJob](poolrt.Workers(4), poolrt.QueueSize(1024))
		require.NoError(t, err)
		flood := func(ctx context.Context) {
			for ctx.Err() == nil {
				_ = p.Submit(ctx, fairJob{who: "other", fn: rankSleep(run)})
			}
		}
		fifo = p99(quietWaits(p, 400, 5*time.Millisecond, run, flood))
		p.ShutdownNow()
	})
	t.Logf("quiet tenant's wait P99: other at its share %v, other flooding %v; FIFO pool, other flooding %v", atShare, flooded, fifo)
	assert.LessOrEqual(t, flooded, atShare+run)
	assert.Greater(t, fifo, 100*run, "a FIFO pool makes the quiet tenant wait behind the flood")
}

// TestFairTenantQueueFull: a tenant at its queue limit meets the pool's
// backpressure alone; the others are accepted, and blocked submitters get
// in as the tenant's tasks start.
func TestFairTenantQueueFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startFairPool(t, poolrt.Workers(1), poolrt.QueueSize(8), poolrt.TenantQueueSize(2))
		gate, started, release := rankGate()
		require.NoError(t, p.Submit(t.Context(), fairJob{who: "a", fn: gate}))
		<-started
		require.NoError(t, p.TrySubmit(fairJob{who: "a"}))
		require.NoError(t, p.TrySubmit(fairJob{who: "a"}))
		assert.ErrorIs(t, p.TrySubmit(fairJob{who: "a"}), poolrt.ErrQueueFull)
		require.NoError(t, p.TrySubmit(fairJob{who: "b"}))

		blocked := make(chan error, 1)
		go func() { blocked <- p.Submit(context.Background(), fairJob{who: "a"}) }()
		synctest.Wait()
		select {
		case err := <-blocked:
			t.Fatalf("Submit returned %v on a full tenant queue", err)
		default:
		}
		ctx, cancel := context.WithCancel(context.Background())
		canceled := make(chan error, 1)
		go func() { canceled <- p.Submit(ctx, fairJob{who: "a"}) }()
		synctest.Wait()
		cancel()
		assert.ErrorIs(t, <-canceled, context.Canceled)
		release()
		require.NoError(t, <-blocked)
		require.NoError(t, p.Shutdown(context.Background()))
		st := p.Stats()
		assert.Equal(t, uint64(5), st.Completed)
		assert.Equal(t, uint64(5), st.Submitted)
		assert.Equal(t, uint64(1), st.Rejected)
		assert.Equal(t, uint64(3), st.Fair.TenantRejected) // TrySubmit, and the two blocked Submits
		assert.Zero(t, st.Fair.Tenants, "idle tenants are forgotten")
	})
}

// TestFairPoolFull: when the pool's queue is full, blocked submitters of
// different tenants are admitted round robin.
func TestFairPoolFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var order []string
		var mu sync.Mutex
		rec := func(who string) func(context.Context) error {
			return func(context.Context) error { mu.Lock(); order = append(order, who); mu.Unlock(); return nil }
		}
		p := startFairPool(t, poolrt.Workers(1), poolrt.QueueSize(2), poolrt.TenantQueueSize(2))
		gate, started, release := rankGate()
		require.NoError(t, p.Submit(t.Context(), fairJob{who: "a", fn: gate}))
		<-started
		require.NoError(t, p.TrySubmit(fairJob{who: "a", fn: rec("a")}))
		require.NoError(t, p.TrySubmit(fairJob{who: "a", fn: rec("a")}))
		for _, who := range []string{"a", "a", "b", "c"} {
			go func() { _ = p.Submit(context.Background(), fairJob{who: who, fn: rec(who)}) }()
			synctest.Wait()
		}
		release()
		synctest.Wait() // every blocked submitter is admitted before Shutdown refuses the rest
		require.NoError(t, p.Shutdown(context.Background()))
		assert.Equal(t, []string{"a", "a", "a", "b", "c", "a"}, order)
		assert.Equal(t, uint64(7), p.Stats().Completed)
	})
}

// TestFairShutdownNow: ShutdownNow returns the queued tasks in the order
// the workers would have taken them, and the accounting identity holds.
func TestFairShutdownNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startFairPool(t, poolrt.Workers(1), poolrt.QueueSize(16), poolrt.TenantQueueSize(8))
		gate, started, _ := rankGate()
		require.NoError(t, p.Submit(t.Context(), fairJob{who: "a", fn: func(ctx context.Context) error {
			time.Sleep(time.Millisecond)
			return gate(ctx)
		}}))
		<-started
		for range 3 {
			require.NoError(t, p.TrySubmit(fairJob{who: "a"}))
		}
		for range 3 {
			require.NoError(t, p.TrySubmit(fairJob{who: "b"}))
		}
		left := p.ShutdownNow()
		var who []string
		for _, j := range left {
			who = append(who, j.who)
		}
		// a used a millisecond: b, whose tasks are new and charged
		// next to nothing, goes first.
		assert.Equal(t, []string{"b", "b", "b", "a", "a", "a"}, who)
		assert.Empty(t, p.ShutdownNow())
		st := p.Stats()
		assert.Equal(t, st.Submitted, st.Completed+st.Panicked+st.Returned)
		assert.ErrorIs(t, p.TrySubmit(fairJob{who: "a"}), poolrt.ErrClosed)
		assert.ErrorIs(t, p.Submit(t.Context(), fairJob{who: "a"}), poolrt.ErrClosed)
		assert.True(t, p.Closed())
	})
}

// TestFairPanicsAndErrors: a panicking task is contained and charged, a
// failing one reported, SubmitWait returns outcomes, and Stats lists the
// tenants with their counts.
func TestFairPanicsAndErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var failed, panicked atomic.Int32
		p := startFairPool(t, poolrt.Workers(2), poolrt.LatencySampling(1),
			poolrt.OnTaskError(func(j fairJob, err error) { failed.Add(1) }),
			poolrt.OnTaskPanic(func(j fairJob, pe *poolrt.PanicError) { panicked.Add(1) }))
		boom := errors.New("boom")
		require.NoError(t, p.Submit(t.Context(), fairJob{who: "a", fn: func(context.Context) error { panic("x") }}))
		require.NoError(t, p.Submit(t.Context(), fairJob{who: "a", fn: func(context.Context) error { return boom }}))
		assert.ErrorIs(t, p.SubmitWait(t.Context(), fairJob{who: "b", fn: func(context.Context) error { return boom }}), boom)
		var pe *poolrt.PanicError
		assert.ErrorAs(t, p.SubmitWait(t.Context(), fairJob{who: "b", fn: func(context.Context) error { panic("y") }}), &pe)
		assert.NoError(t, p.SubmitWait(t.Context(), fairJob{who: "c", fn: rankSleep(time.Millisecond)}))
		// Keep c's state: a task runs long enough to show in Stats.
		gate, started, release := rankGate()
		require.NoError(t, p.Submit(t.Context(), fairJob{who: "c", fn: gate}))
		<-started
		st := p.Stats()
		assert.Equal(t, 2, st.Workers)
		require.NotNil(t, st.Fair)
		require.NotEmpty(t, st.Fair.Top)
		assert.Equal(t, "c", st.Fair.Top[0].Tenant)
		assert.Equal(t, 1, st.Fair.Top[0].Running)
		assert.Contains(t, st.String(), `tenant "c"`)
		release()
		require.NoError(t, p.Shutdown(context.Background()))
		st = p.Stats()
		assert.Equal(t, int32(1), failed.Load())
		assert.Equal(t, int32(2), panicked.Load())
		assert.Equal(t, uint64(6), st.Submitted)
		assert.Equal(t, uint64(4), st.Completed)
		assert.Equal(t, uint64(2), st.Panicked)
		assert.Equal(t, uint64(2), st.Failed)
	})
}

// TestFairNilAndOptions: nil tasks are refused, and bad options are
// *poolrt.ConfigErrors.
func TestFairNilAndOptions(t *testing.T) {
	pp, err := templates.NewFairPool[*ptrFairJob](poolrt.Workers(1))
	require.NoError(t, err)
	assert.ErrorIs(t, pp.Submit(t.Context(), nil), poolrt.ErrNilTask)
	assert.ErrorIs(t, pp.TrySubmit(nil), poolrt.ErrNilTask)
	assert.ErrorIs(t, pp.SubmitWait(t.Context(), nil), poolrt.ErrNilTask)
	require.NoError(t, pp.Shutdown(t.Context()))

	for _, c := range []struct {
		opt  poolrt.Option
		want string
	}{
		{poolrt.TenantQueueSize(0), "at least 1"},
		{poolrt.TenantWeights(map[string]int{"a": 0}), "weights are 1 to"},
		{poolrt.TenantWeights(map[int]int{1: 2}), "tenants of type int, the pool's are string"},
		{poolrt.TenantWeight(func(int) int { return 1 }), "tenants of type int"},
		{poolrt.TenantWeight[string](nil), "nil"},
		{poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: 2}), "0 < Initial <= Max"},
		{poolrt.OnDeadLetter(func(int, error, int) {}), "the handler takes tasks of type int, the pool's are templates_test.fairJob"},
		{poolrt.Aging(time.Second), "does not apply to the fair pool"},
	} {
		_, err := templates.NewFairPool[fairJob](c.opt, poolrt.QueueSize(64))
		var ce *poolrt.ConfigError
		if assert.ErrorAs(t, err, &ce, "%v", c.opt) {
			assert.Contains(t, err.Error(), c.want)
		}
	}
	_, err = templates.NewFairPool[fairJob](poolrt.TenantWeights(map[string]int{"a": 2}), poolrt.TenantWeight(func(string) int { return 1 }))
	assert.ErrorContains(t, err, "give one of them")
	p, err := templates.NewFairPool[fairJob](poolrt.TenantQueueSize(1<<20), poolrt.Workers(1))
	require.NoError(t, err) // beyond QueueSize: no tenant limit of its own
	require.NoError(t, p.Shutdown(t.Context()))
}

type ptrFairJob struct{ who int }

func (j *ptrFairJob) Run(context.Context) error { return nil }
func (j *ptrFairJob) Tenant() int               { return j.who }

// TestFairWeightPanics: a panic in the weight function is contained and
// counted, and the tenant gets weight 1.
func TestFairWeightPanics(t *testing.T) {
	p := startFairPool(t, poolrt.Workers(1), poolrt.TenantWeight(func(k string) int {
		if k == "bad" {
			panic("no weight")
		}
		return 1 << 30
	}))
	gate, started, release := rankGate()
	require.NoError(t, p.Submit(t.Context(), fairJob{who: "big", fn: gate}))
	<-started
	require.NoError(t, p.Submit(t.Context(), fairJob{who: "bad"}))
	st := p.Stats()
	assert.Equal(t, uint64(1), st.HookPanics)
	weights := map[string]int{}
	for _, ts := range st.Fair.Top {
		weights[ts.Tenant] = ts.Weight
	}
	assert.Equal(t, map[string]int{"big": poolrt.MaxTenantWeight, "bad": 1}, weights)
	release()
	require.NoError(t, p.Shutdown(context.Background()))
}

// TestFairStress: many tenants submitting concurrently through every entry
// point onto small queues, blocked submitters giving up, then ShutdownNow
// mid-flight: every accepted task ran exactly once or was handed back, and
// the accounting identity holds.
func TestFairStress(t *testing.T) {
	const submitters, each = 8, 300
	p, err := templates.NewFairPool[fairJob](poolrt.Workers(3), poolrt.QueueSize(16), poolrt.TenantQueueSize(4),
		poolrt.TenantWeight(func(k string) int { return 1 + len(k)%3 }))
	require.NoError(t, err)
	var ran sync.Map // task id → runs
	var accepted atomic.Int64
	job := func(id int, who string) fairJob {
		return fairJob{who: who, fn: func(context.Context) error {
			n, _ := ran.LoadOrStore(id, new(atomic.Int32))
			n.(*atomic.Int32).Add(1)
			return nil
		}}
	}
	ids := make(chan int, submitters*each)
	var wg sync.WaitGroup
	for s := range submitters {
		wg.Go(func() {
			for i := range each {
				id := s*each + i
				who := "t" + string(rune('a'+(id*7)%13))
				var err error
				switch i % 4 {
				case 0:
					err = p.TrySubmit(job(id, who))
				case 1:
					ctx, cancel := context.WithTimeout(context.Background(), 50*time.Microsecond)
					err = p.Submit(ctx, job(id, who))
					cancel()
				case 2:
					ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
					err = p.SubmitWait(ctx, job(id, who))
					cancel()
					if errors.Is(err, context.DeadlineExceeded) {
						err = nil // perhaps accepted: counted below by what ran
						id = -1 - id
					}
				default:
					err = p.Submit(context.Background(), job(id, who))
				}
				if err == nil {
					accepted.Add(1)
					ids <- id
				}
			}
		})
	}
	time.Sleep(5 * time.Millisecond)
	returned := p.ShutdownNow()
	wg.Wait()
	close(ids)
	st := p.Stats()
	assert.Equal(t, st.Submitted, st.Completed+st.Panicked+st.Returned, "accounting identity")
	assert.Equal(t, uint64(len(returned)), st.Returned)
	runs := 0
	ran.Range(func(_, n any) bool {
		assert.Equal(t, int32(1), n.(*atomic.Int32).Load(), "a task ran more than once")
		runs++
		return true
	})
	assert.Equal(t, int(st.Completed), runs)
	sure := 0
	for id := range ids {
		if id >= 0 {
			sure++
		}
	}
	// Tasks whose SubmitWait timed out may or may not have been accepted;
	// the others were.
	assert.LessOrEqual(t, sure, runs+len(returned))
	assert.LessOrEqual(t, runs+len(returned), int(accepted.Load())+submitters*each/4)
	assert.Zero(t, st.QueueDepth)
}

// TestFairNoCreditForIdle: a tenant that was idle while the others kept
// the pool busy gets its share when it comes, not the time it missed: in
// the first 300 ms after it starts flooding, its share of worker time is
// its weight share, within 5 points.
func TestFairNoCreditForIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startFairPool(t, poolrt.Workers(2), poolrt.TenantQueueSize(64))
		busy := map[string]*atomic.Int64{"a": {}, "b": {}, "c": {}}
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		flood := func(who string) {
			b := busy[who]
			for ctx.Err() == nil {
				_ = p.Submit(ctx, fairJob{who: who, fn: func(context.Context) error {
					time.Sleep(time.Millisecond)
					b.Add(int64(time.Millisecond))
					return nil
				}})
			}
		}
		wg.Go(func() { flood("a") })
		wg.Go(func() { flood("b") })
		time.Sleep(time.Second)
		wg.Go(func() { flood("c") })
		before := map[string]int64{}
		for who, b := range busy {
			before[who] = b.Load()
		}
		time.Sleep(300 * time.Millisecond)
		var all int64
		got := map[string]float64{}
		for who, b := range busy {
			all += b.Load() - before[who]
		}
		for who, b := range busy {
			got[who] = float64(b.Load()-before[who]) / float64(all)
		}
		t.Logf("shares in the 300 ms after c came: %v", got)
		for who := range busy {
			assert.InDelta(t, 1.0/3, got[who], 0.05, "%s: %v", who, got)
		}
		stop()
		p.ShutdownNow()
		wg.Wait()
	})
}

// TestFairBreaker: tasks that the circuit breaker turns away are
// dead-lettered without running, cost their tenant no worker time (a
// tenant whose every task was refused owes nothing, and is forgotten),
// and count in neither its Ended nor its Running.
func TestFairBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var refused atomic.Int32
		p := startFairPool(t, poolrt.Workers(1), poolrt.LatencySampling(1),
			poolrt.Breaker(poolrt.BreakerPolicy{Failures: 1, Cooldown: time.Hour}),
			poolrt.OnTaskError(func(j fairJob, err error) {
				if errors.Is(err, poolrt.ErrCircuitOpen) {
					refused.Add(1)
				}
			}))
		boom := errors.New("boom")
		assert.ErrorIs(t, p.SubmitWait(t.Context(), fairJob{who: "a", fn: func(context.Context) error {
			time.Sleep(time.Millisecond)
			return boom
		}}), boom)
		ran := false
		assert.ErrorIs(t, p.SubmitWait(t.Context(), fairJob{who: "b", fn: func(context.Context) error { ran = true; return nil }}), poolrt.ErrCircuitOpen)
		for range 3 {
			require.NoError(t, p.Submit(t.Context(), fairJob{who: "b", fn: func(context.Context) error { ran = true; return nil }}))
		}
		synctest.Wait()
		assert.False(t, ran, "a task turned away ran")
		assert.Equal(t, int32(3), refused.Load())
		st := p.Stats()
		assert.Equal(t, uint64(5), st.Submitted)
		assert.Equal(t, uint64(1), st.Completed)
		assert.Equal(t, uint64(4), st.DeadLettered)
		require.NotNil(t, st.Breaker)
		assert.Equal(t, uint64(4), st.Breaker.FailedFast)
		require.NotNil(t, st.Fair)
		assert.Equal(t, 1, st.Fair.Tenants, "b owes nothing: forgotten")
		if assert.Len(t, st.Fair.Top, 1) {
			a := st.Fair.Top[0]
			assert.Equal(t, "a", a.Tenant)
			assert.Equal(t, 0, a.Running)
			assert.Equal(t, uint64(1), a.Submitted)
			assert.Equal(t, uint64(1), a.Ended)
			assert.Equal(t, time.Millisecond, a.Busy)
		}
		require.NoError(t, p.Shutdown(context.Background()))
		st = p.Stats()
		assert.Equal(t, st.Submitted, st.Completed+st.Panicked+st.DeadLettered+st.Returned)
	})
}

// TestFairShed: a fair pool's load shedding limits its whole queue, all
// tenants together: once one tenant's flood has it shedding, a quiet
// tenant's submission that finds the queue at the limit is refused too,
// and neither refusal is queued or counted as submitted.
func TestFairShed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startFairPool(t, poolrt.Workers(1), poolrt.QueueSize(100), poolrt.LatencySampling(1),
			poolrt.Shed(poolrt.ShedPolicy{Target: 5 * time.Millisecond, Interval: 100 * time.Millisecond}))
		work := func(context.Context) error { time.Sleep(10 * time.Millisecond); return nil }
		var quiet error
		accepted := uint64(0)
		for range 200 { // twice what the worker runs
			synctest.Wait()
			err := p.TrySubmit(fairJob{who: "flood", fn: work})
			if err == nil {
				accepted++
			} else {
				require.ErrorIs(t, err, poolrt.ErrOverloaded)
				quiet = p.TrySubmit(fairJob{who: "quiet", fn: work})
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		require.Error(t, quiet, "the flood was never refused")
		assert.ErrorIs(t, quiet, poolrt.ErrOverloaded, "the quiet tenant, at the pool's limit")
		assert.ErrorIs(t, p.SubmitWait(t.Context(), fairJob{who: "quiet", fn: work}), poolrt.ErrOverloaded)
		assert.ErrorIs(t, p.Submit(t.Context(), fairJob{who: "quiet", fn: work}), poolrt.ErrOverloaded)
		st := p.Stats()
		assert.True(t, st.Shedding)
		assert.Equal(t, uint64(4), st.Shed)
		assert.Equal(t, accepted, st.Submitted)
		for _, ts := range st.Fair.Top {
			assert.NotEqual(t, "quiet", ts.Tenant, "a refused tenant was taken up")
		}
		require.NoError(t, p.Shutdown(context.Background()))
		st = p.Stats()
		assert.Equal(t, st.Submitted, st.Completed+st.Panicked+st.DeadLettered+st.Returned)
	})
}

// TestFairZeroAllocs: Submit and run of tasks of a few tenants allocate
// nothing in steady state, without retries and with them (tasks that
// succeed).
func TestFairZeroAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts in -short mode")
	}
	for _, opts := range [][]poolrt.Option{
		nil,
		{poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: 3, Initial: time.Millisecond, Max: time.Millisecond}), poolrt.OnDeadLetter(func(fairJob, error, int) {})},
	} {
		var ran sync.WaitGroup
		body := func(context.Context) error { ran.Done(); return nil } // made once: no allocation per task
		tenants := []string{"a", "b", "c"}
		p := startFairPool(t, append([]poolrt.Option{poolrt.Workers(2), poolrt.QueueSize(1024)}, opts...)...)
		ctx := context.Background()
		i := 0
		submit := func() {
			ran.Add(1)
			if err := p.Submit(ctx, fairJob{who: tenants[i%len(tenants)], fn: body}); err != nil {
				t.Error(err)
				ran.Done()
			}
			i++
		}
		for range 64 {
			submit()
		}
		ran.Wait()
		assert.Zero(t, testing.AllocsPerRun(200, submit), "allocations per Submit (%d options)", len(opts))
		ran.Wait()
		assert.Zero(t, testing.AllocsPerRun(200, func() { submit(); ran.Wait() }), "allocations per Submit and run (%d options)", len(opts))
		require.NoError(t, p.Shutdown(ctx))
	}
}

// TestFairRetryTenant: a task waiting to retry keeps its tenant: while
// another tenant's tasks move the virtual time past it, the idle tenant
// is not forgotten, and its retry comes back to its own queue, charged
// to it (a tenant's Submitted and Ended count attempts; the pool's count
// tasks).
func TestFairRetryTenant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		p := startFairPool(t, poolrt.Workers(1), poolrt.QueueSize(64),
			poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: 2, Initial: time.Hour, Max: time.Hour}))
		var runs atomic.Int32
		release := make(chan struct{})
		require.NoError(t, p.Submit(ctx, fairJob{who: "a", fn: func(context.Context) error {
			if runs.Add(1) == 1 {
				return errors.New("again")
			}
			<-release
			return nil
		}}))
		synctest.Wait()
		require.Equal(t, int32(1), runs.Load(), "the retry waits (its backoff is up to an hour)")
		for range 32 {
			require.NoError(t, p.Submit(ctx, fairJob{who: "b", fn: func(context.Context) error {
				time.Sleep(time.Millisecond)
				return nil
			}}))
		}
		time.Sleep(time.Second)
		synctest.Wait()
		tenant := func(name string) (poolrt.TenantStats, bool) {
			for _, ts := range p.Stats().Fair.Top {
				if ts.Tenant == name {
					return ts, true
				}
			}
			return poolrt.TenantStats{}, false
		}
		if runs.Load() == 1 {
			_, kept := tenant("a")
			assert.True(t, kept, "a tenant with a task waiting to retry is kept")
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Equal(t, int32(2), runs.Load())
		a, ok := tenant("a")
		require.True(t, ok, "the retry runs for its tenant")
		assert.Equal(t, uint64(2), a.Submitted, "each attempt is queued for its tenant")
		assert.Equal(t, uint64(1), a.Ended, "the first attempt was charged to its tenant")
		assert.Equal(t, 1, a.Running)
		close(release)
		require.NoError(t, p.Shutdown(ctx))
		st := p.Stats()
		assert.Equal(t, uint64(33), st.Submitted)
		assert.Equal(t, uint64(33), st.Completed)
		assert.Equal(t, uint64(1), st.Retries)
		assert.Equal(t, uint64(1), st.RetrySucceeded)
	})
}
