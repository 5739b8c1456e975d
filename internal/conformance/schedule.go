package conformance

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// scheduled checks that every scheduled task has had its one outcome or
// is pending, and returns the section.
func scheduled(t *testing.T, st poolrt.Stats) poolrt.ScheduledStats {
	t.Helper()
	require.NotNil(t, st.Scheduled, "Stats.Scheduled once a task was scheduled")
	sc := *st.Scheduled
	assert.Equal(t, sc.Scheduled, uint64(sc.Pending)+sc.Fired+sc.Canceled+sc.Returned,
		"Scheduled = Pending + Fired + Canceled + Returned: %+v", sc)
	return sc
}

// testScheduleDue: a task scheduled for later runs at its time, not
// before; SubmitAt takes a time; d <= 0 submits at once; a pool that
// never schedules has no Scheduled section.
func testScheduleDue[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		ctl := probe.New(3)
		var ran [3]atomic.Int64
		start := time.Now()
		for id := range 3 {
			ctl.SetFunc(id, func(context.Context) error {
				ran[id].Store(int64(time.Since(start)))
				return nil
			})
		}
		p := s.start(t, 1)
		assert.Nil(t, p.Stats().Scheduled, "no section before a task is scheduled")
		require.NoError(t, p.SubmitAfter(50*time.Millisecond, s.Task(ctl, 0)))
		require.NoError(t, p.SubmitAt(start.Add(20*time.Millisecond), s.Task(ctl, 1)))
		require.NoError(t, p.SubmitAfter(0, s.Task(ctl, 2)))
		synctest.Wait()
		assert.Equal(t, 1, ctl.Runs(2), "d <= 0 submits at once")
		assert.Equal(t, 0, ctl.Runs(0)+ctl.Runs(1), "not before their time")
		sc := scheduled(t, p.Stats())
		assert.Equal(t, poolrt.ScheduledStats{Scheduled: 2, Pending: 2, Limit: p.Stats().QueueCap}, sc)

		time.Sleep(20*time.Millisecond - time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, 0, ctl.Runs(1), "not a nanosecond early")
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, 1, ctl.Runs(1), "SubmitAt: at its time")
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, 1, ctl.Runs(0))
		for id, due := range map[int]time.Duration{0: 50 * time.Millisecond, 1: 20 * time.Millisecond} {
			got := time.Duration(ran[id].Load())
			assert.True(t, got >= due && got <= due+time.Millisecond, "task %d due at %v ran at %v", id, due, got)
		}
		require.NoError(t, p.Shutdown(context.Background()))
		st := p.Stats()
		sc = scheduled(t, st)
		assert.Equal(t, uint64(2), sc.Fired)
		assert.Equal(t, uint64(3), st.Submitted, "fired tasks are submitted")
		identity(t, st)
	})
}

// testScheduleOrder: tasks scheduled in any order start in the order of
// their due times, those due together in the order they were scheduled.
func testScheduleOrder[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const n = 20
		ctl := probe.New(n + 2)
		p := s.start(t, 1)
		var want []int
		for _, id := range rand.Perm(n) {
			require.NoError(t, p.SubmitAfter(time.Duration(id+1)*time.Millisecond, s.Task(ctl, id)))
		}
		for id := range n {
			want = append(want, id)
		}
		if !s.Reorders {
			// Due together, after the others: scheduling order.
			require.NoError(t, p.SubmitAfter(time.Second, s.Task(ctl, n+1)))
			require.NoError(t, p.SubmitAfter(time.Second, s.Task(ctl, n)))
			want = append(want, n+1, n)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.Equal(t, want, ctl.Order(), "due-time order")
		require.NoError(t, p.Shutdown(context.Background()))
		scheduled(t, p.Stats())
	})
}

// testScheduleBound: as many tasks as the queue holds may wait for their
// time; one more is refused with ErrQueueFull, not lost; ShutdownNow
// returns the pending ones, in due order, once.
func testScheduleBound[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		p := s.start(t, 1, poolrt.QueueSize(4))
		limit := p.Stats().QueueCap
		ctl := probe.New(limit + 1)
		for id := range limit {
			require.NoError(t, p.SubmitAfter(time.Hour-time.Duration(id), s.Task(ctl, id)))
		}
		assert.ErrorIs(t, p.SubmitAfter(time.Hour, s.Task(ctl, limit)), poolrt.ErrQueueFull)
		sc := scheduled(t, p.Stats())
		assert.Equal(t, limit, sc.Limit)
		assert.Equal(t, limit, sc.Pending)
		var want []int
		for id := limit - 1; id >= 0; id-- {
			want = append(want, id)
		}
		assert.Equal(t, want, s.ids(p.ShutdownNow()), "ShutdownNow returns them, soonest first")
		assert.Empty(t, p.ShutdownNow())
		sc = scheduled(t, p.Stats())
		assert.Equal(t, uint64(limit), sc.Returned)
		assert.Equal(t, 0, ctl.Total(), "none ran")
		assert.ErrorIs(t, p.SubmitAfter(time.Hour, s.Task(ctl, limit)), poolrt.ErrClosed)
	})
}

// testScheduleFull: a task that falls due while the pool is full stays
// due and runs once there is room, exactly once.
func testScheduleFull[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		p := s.start(t, 1, poolrt.QueueSize(2), poolrt.OnFull(poolrt.Reject))
		n := 2 + p.Stats().QueueCap
		ctl := probe.New(n + 1)
		release := ctl.Hold(0)
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 0)))
		<-ctl.Started()
		queued := 0
		for id := 1; id < n; id++ {
			if p.TrySubmit(s.Task(ctl, id)) == nil {
				queued++
			}
		}
		require.ErrorIs(t, p.TrySubmit(s.Task(ctl, n)), poolrt.ErrQueueFull, "the pool is full")
		require.NoError(t, p.SubmitAfter(10*time.Millisecond, s.Task(ctl, n)))
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, 0, ctl.Runs(n), "no room yet")
		assert.Equal(t, 1, scheduled(t, p.Stats()).Pending, "still due")
		release()
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, 1, ctl.Runs(n), "ran once there was room")
		require.NoError(t, p.Shutdown(context.Background()))
		assert.Equal(t, queued+2, ctl.Total())
		st := p.Stats()
		assert.Equal(t, uint64(1), scheduled(t, st).Fired)
		identity(t, st)
	})
}

// testScheduleShutdown: Shutdown does not wait for tasks scheduled for
// later: it cancels them, with ErrClosed to OnDeadLetter where the
// pattern takes it, and they never run; scheduling after returns
// ErrClosed.
func testScheduleShutdown[T any](t *testing.T, s *suite[T]) {
	letters := s.Pattern&(Fixed|Dynamic) != 0
	bubble(t, func(t *testing.T) {
		const n = 5
		ctl := probe.New(n + 1)
		var dl deadLetters[T]
		var opts []poolrt.Option
		if letters {
			opts = append(opts, dl.opt(s))
		}
		p := s.start(t, 2, opts...)
		for id := range n {
			require.NoError(t, p.SubmitAfter(time.Duration(id+1)*time.Hour, s.Task(ctl, id)))
		}
		start := time.Now()
		require.NoError(t, p.Shutdown(context.Background()))
		assert.Equal(t, time.Duration(0), time.Since(start), "Shutdown does not wait for them")
		assert.ErrorIs(t, p.SubmitAfter(time.Second, s.Task(ctl, n)), poolrt.ErrClosed)
		assert.ErrorIs(t, p.SubmitAt(time.Now().Add(time.Second), s.Task(ctl, n)), poolrt.ErrClosed)
		assert.Empty(t, p.ShutdownNow(), "canceled, not returned")
		time.Sleep(10 * time.Hour)
		synctest.Wait()
		assert.Equal(t, 0, ctl.Total(), "canceled tasks never run")
		sc := scheduled(t, p.Stats())
		assert.Equal(t, uint64(n), sc.Canceled)
		if letters {
			assert.Equal(t, []int{0, 1, 2, 3, 4}, dl.sorted())
			for id := range n {
				assert.ErrorIs(t, dl.errs[id], poolrt.ErrClosed)
				assert.Equal(t, 0, dl.attempts[id])
			}
		}
	})
}

// testScheduleShutdownNowRace: tasks scheduled from many goroutines,
// due in the next few milliseconds, while ShutdownNow runs: each
// accepted task runs once or is returned once, never both, never lost.
func testScheduleShutdownNowRace[T any](t *testing.T, s *suite[T]) {
	for range 20 {
		const goroutines, each = 4, 50
		ctl := probe.New(goroutines * each)
		p := s.start(t, 2, poolrt.QueueSize(goroutines*each))
		var accepted [goroutines * each]atomic.Bool
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for k := range each {
					id := g*each + k
					d := time.Duration(rand.IntN(3000)-500) * time.Microsecond
					err := p.SubmitAfter(d, s.Task(ctl, id))
					if err == nil {
						accepted[id].Store(true)
					} else if !errors.Is(err, poolrt.ErrClosed) && !errors.Is(err, poolrt.ErrQueueFull) {
						t.Errorf("SubmitAfter: %v", err)
					}
				}
			})
		}
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
		returned := s.ids(p.ShutdownNow())
		wg.Wait()
		back := make([]int, goroutines*each)
		for _, id := range returned {
			back[id]++
		}
		for id := range back {
			want := 0
			if accepted[id].Load() {
				want = 1
			}
			require.Equal(t, want, ctl.Runs(id)+back[id], "task %d (accepted %v): ran %d, returned %d", id, accepted[id].Load(), ctl.Runs(id), back[id])
		}
		st := p.Stats()
		identity(t, st)
		if st.Scheduled != nil {
			sc := scheduled(t, st)
			assert.Equal(t, 0, sc.Pending)
			assert.Equal(t, uint64(0), sc.Canceled)
		}
	}
}
