package templates_test

import (
	"context"
	"errors"
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

// newRankDeadline is NewDeadlinePool without a late handler.
func newRankDeadline(opts ...poolrt.Option) (*templates.DeadlinePool[rankJob], error) {
	return templates.NewDeadlinePool[rankJob](nil, opts...)
}

// rankRecorder collects what a pool reports to OnError and OnPanic.
type rankRecorder struct {
	mu     sync.Mutex
	errs   []error
	panics []*poolrt.PanicError
}

func (r *rankRecorder) opts() []poolrt.Option {
	return []poolrt.Option{
		poolrt.OnError(func(err error) { r.mu.Lock(); r.errs = append(r.errs, err); r.mu.Unlock() }),
		poolrt.OnPanic(func(pe *poolrt.PanicError) { r.mu.Lock(); r.panics = append(r.panics, pe); r.mu.Unlock() }),
	}
}

// rankLateScenario runs, on a one-worker pool held busy for 100 ms (fake
// time), four tasks: 1 and 3 due at 50 ms and 20 ms (late by 50 and
// 80 ms when taken), 2 due at 500 ms, 4 with no deadline, and 5 due
// before it is even submitted (late by 110 ms). It returns the ids in the
// order their Run started.
func rankLateScenario(t *testing.T, p rankPool) []int {
	t.Helper()
	ctx := context.Background()
	t0 := time.Now()
	fn, started, release := rankGate()
	require.NoError(t, p.Submit(ctx, rankJob{id: 0, fn: fn})) // no deadline: runs at once on the idle worker
	<-started
	var mu sync.Mutex
	var ran []int
	job := func(id int, due time.Duration) rankJob {
		j := rankJob{id: id, fn: func(context.Context) error {
			mu.Lock()
			ran = append(ran, id)
			mu.Unlock()
			return nil
		}}
		if due != 0 {
			j.due = t0.Add(due)
		}
		return j
	}
	require.NoError(t, p.Submit(ctx, job(4, 0)))
	require.NoError(t, p.Submit(ctx, job(1, 50*time.Millisecond)))
	require.NoError(t, p.Submit(ctx, job(2, 500*time.Millisecond)))
	require.NoError(t, p.Submit(ctx, job(3, 20*time.Millisecond)))
	time.Sleep(30 * time.Millisecond)
	require.NoError(t, p.Submit(ctx, job(5, -10*time.Millisecond)))
	time.Sleep(70 * time.Millisecond)
	release()
	require.NoError(t, p.Shutdown(ctx))
	st := p.Stats()
	assert.Equal(t, st.Submitted, st.Completed, "every task is accounted as completed")
	return ran
}

// TestDeadlineRunLate: by default late tasks run anyway, earliest deadline
// first, and are counted; tasks without a deadline run last.
func TestDeadlineRunLate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startRankPool(t, newRankDeadline, poolrt.Workers(1))
		ran := rankLateScenario(t, p)
		assert.Equal(t, []int{5, 3, 1, 2, 4}, ran, "run order: earliest deadline first, no deadline last")
		ps := p.Stats().Priority
		assert.Equal(t, poolrt.ByDeadline, ps.Kind)
		assert.Equal(t, uint64(3), ps.Missed, "Missed")
		assert.Zero(t, ps.Dropped+ps.HandedOff, "Dropped, HandedOff")
		assert.Equal(t, uint64(3), ps.Lateness.Count, "Lateness.Count")
		assert.Equal(t, 110*time.Millisecond, ps.Lateness.Max, "Lateness.Max: task 5, due at −10 ms, taken at 100 ms")
		assert.Equal(t, (110+80+50)*time.Millisecond/3, ps.Lateness.Mean, "Lateness.Mean")
	})
}

// TestDeadlineDropLate: under DropLate late tasks do not run; each is
// counted as completed and failed, and OnError gets a *DeadlineError that
// names the task, its deadline and how late it was.
func TestDeadlineDropLate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec rankRecorder
		t0 := time.Now()
		p := startRankPool(t, newRankDeadline, append(rec.opts(), poolrt.Workers(1), poolrt.OnLate(poolrt.DropLate))...)
		ran := rankLateScenario(t, p)
		assert.Equal(t, []int{2, 4}, ran, "tasks run")
		st := p.Stats()
		assert.Equal(t, uint64(3), st.Priority.Dropped, "Dropped")
		assert.Zero(t, st.Priority.Missed+st.Priority.HandedOff, "Missed, HandedOff")
		assert.Equal(t, uint64(3), st.Failed, "dropped tasks count as failed")
		assert.Equal(t, uint64(6), st.Completed, "dropped tasks count as completed")

		require.Len(t, rec.errs, 3, "errors reported")
		for i, want := range []struct {
			id        int
			due, late time.Duration
		}{{5, -10 * time.Millisecond, 110 * time.Millisecond}, {3, 20 * time.Millisecond, 80 * time.Millisecond}, {1, 50 * time.Millisecond, 50 * time.Millisecond}} {
			err := rec.errs[i]
			assert.ErrorIs(t, err, poolrt.ErrDeadlineExceeded)
			var de *poolrt.DeadlineError
			if assert.ErrorAs(t, err, &de) {
				assert.Equal(t, want.id, de.Task.(rankJob).id, "error %d: Task", i)
				assert.True(t, t0.Add(want.due).Equal(de.Deadline), "error %d: Deadline %v, want t0%+v", i, de.Deadline, want.due)
				assert.Equal(t, want.late, de.Late, "error %d: Late", i)
			}
		}
	})
}

// TestDeadlineHandOff: with a handler, late tasks go to it, typed, instead
// of running; a handler that panics is recovered like a task, and the
// worker is replaced.
func TestDeadlineHandOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec rankRecorder
		var handed []int
		handler := func(j rankJob) {
			handed = append(handed, j.id)
			if j.id == 3 {
				panic("handler fails on task 3")
			}
		}
		newPool := func(opts ...poolrt.Option) (*templates.DeadlinePool[rankJob], error) {
			return templates.NewDeadlinePool(handler, opts...)
		}
		p := startRankPool(t, newPool, append(rec.opts(), poolrt.Workers(1))...)
		ctx := context.Background()
		t0 := time.Now()
		fn, started, release := rankGate()
		require.NoError(t, p.Submit(ctx, rankJob{id: 0, fn: fn}))
		<-started
		var ran []int
		for id, due := range []time.Duration{1: 10 * time.Millisecond, 2: time.Hour, 3: 20 * time.Millisecond, 4: 30 * time.Millisecond} {
			if id > 0 {
				require.NoError(t, p.Submit(ctx, rankJob{id: id, due: t0.Add(due), fn: func(context.Context) error {
					ran = append(ran, id)
					return nil
				}}))
			}
		}
		time.Sleep(100 * time.Millisecond)
		release()
		require.NoError(t, p.Shutdown(ctx))

		// Task 4 was handed off after the handler panicked on task 3: by
		// the worker that replaced the one that panicked.
		assert.Equal(t, []int{1, 3, 4}, handed, "tasks handed off, earliest deadline first")
		assert.Equal(t, []int{2}, ran, "tasks run")
		st := p.Stats()
		assert.Equal(t, uint64(3), st.Priority.HandedOff, "HandedOff")
		assert.Zero(t, st.Priority.Missed+st.Priority.Dropped, "Missed, Dropped")
		assert.Equal(t, uint64(1), st.Panicked, "the handler's panic")
		assert.Equal(t, uint64(4), st.Completed, "Completed: tasks 0, 2 and the two handed off without a panic")
		assert.Zero(t, st.Failed, "Failed")
		require.Len(t, rec.panics, 1, "panics reported")
		assert.Equal(t, 3, rec.panics[0].Task.(rankJob).id, "the task whose handler panicked")
	})
}

// TestDeadlineConfig: aging and bands do not apply to deadlines, the late
// policy not to the other orders, and a handler excludes OnLate.
func TestDeadlineConfig(t *testing.T) {
	defer goleak.VerifyNone(t)
	handler := func(rankJob) {}
	for _, c := range []struct {
		handler func(rankJob)
		opt     poolrt.Option
	}{
		{nil, poolrt.Aging(time.Second)},
		{nil, poolrt.Bands(1, 2)},
		{nil, poolrt.OnLate(poolrt.LatePolicy(9))},
		{handler, poolrt.OnLate(poolrt.RunLate)},
		{handler, poolrt.OnLate(poolrt.DropLate)},
	} {
		p, err := templates.NewDeadlinePool(c.handler, c.opt)
		var ce *poolrt.ConfigError
		if assert.True(t, errors.As(err, &ce), "NewDeadlinePool(handler: %t, %v): %v", c.handler != nil, c.opt, err) {
			assert.Equal(t, c.opt.String(), ce.Option, "the option named")
		}
		assert.Nil(t, p)
	}
	p, err := templates.NewDeadlinePool(handler, poolrt.Workers(1))
	require.NoError(t, err)
	require.NoError(t, p.Shutdown(context.Background()))
}

// TestDeadlineZeroAllocs: Submit and run of tasks with deadlines, on time
// or late under RunLate (a clock read per task, the lateness histogram),
// allocate nothing.
func TestDeadlineZeroAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts in -short mode")
	}
	defer goleak.VerifyNone(t)
	now := time.Now()
	rankZeroAllocs(t, newRankDeadline, func(i int) rankJob {
		if i%2 == 0 {
			return rankJob{due: now.Add(-time.Second)} // late
		}
		return rankJob{due: now.Add(time.Hour)}
	})
}
