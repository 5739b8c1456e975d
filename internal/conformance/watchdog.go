package conformance

import (
	"context"
	"slices"
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

// testWatchdog: with Watchdog(d, f), a task still running d after it
// started is reported to f once, while it runs, with the pool's name and
// pattern, its worker's slot, and a Running between d and 1.5·d; Stats
// counts it in Stuck while it runs and in StuckTasks for good. Tasks
// shorter than d, back to back on the same worker, are never reported. A
// panic in f is contained, counted once in HookPanics, and the watchdog
// goes on. Its goroutine ends with the pool (the bubble would not end
// otherwise).
func testWatchdog[T any](t *testing.T, s *suite[T]) {
	const d = 40 * time.Millisecond
	bubble(t, func(t *testing.T) {
		ctl := probe.New(16)
		var mu sync.Mutex
		var got []poolrt.StuckTask
		reports := func() []poolrt.StuckTask {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(got)
		}
		name := "watchdog " + t.Name()
		p := s.start(t, 2, poolrt.Name(name), poolrt.Watchdog(d, func(st poolrt.StuckTask) {
			mu.Lock()
			got = append(got, st)
			n := len(got)
			mu.Unlock()
			if n == 1 {
				panic("watchdog hook")
			}
		}))
		ctx := context.Background()

		// Short tasks, one after another: each is seen running at most
		// for d/2.
		for i := range 6 {
			ctl.SetFunc(i, func(context.Context) error {
				time.Sleep(d / 2)
				return nil
			})
			require.NoError(t, p.SubmitWait(ctx, s.Task(ctl, i)))
		}
		time.Sleep(2 * d)
		assert.Empty(t, reports(), "tasks shorter than the threshold were reported")
		assert.Zero(t, p.Stats().StuckTasks)

		// A hanging dependency: reported once, while it runs.
		ctl.Set(6, probe.Block)
		start := time.Now()
		require.NoError(t, p.Submit(ctx, s.Task(ctl, 6)))
		<-ctl.Started()
		time.Sleep(d + d/2)
		synctest.Wait()
		r := reports()
		require.Len(t, r, 1, "the hanging task is reported once")
		assert.Equal(t, name, r[0].Pool)
		assert.Equal(t, patternNames[s.Pattern], r[0].Pattern)
		assert.True(t, r[0].Worker >= 0 && r[0].Worker < 2, "worker slot %d of 2", r[0].Worker)
		assert.GreaterOrEqual(t, r[0].Running, d)
		assert.LessOrEqual(t, r[0].Running, d+d/2)
		assert.False(t, r[0].Started.Before(start), "Started %v is before the task started (%v)", r[0].Started, start)
		st := p.Stats()
		assert.Equal(t, 1, st.Stuck, "Stats.Stuck while it runs")
		assert.Equal(t, uint64(1), st.StuckTasks)
		assert.Equal(t, uint64(1), st.HookPanics, "the hook's panic is contained and counted once")

		// Still running later: not reported again.
		time.Sleep(3 * d)
		assert.Len(t, reports(), 1, "a stuck task is reported once")

		// Once it ends, the worker is no longer stuck; the next hang is
		// reported too, to a hook that does not panic now.
		ctl.Release()
		time.Sleep(d)
		st = p.Stats()
		assert.Equal(t, 0, st.Stuck, "Stats.Stuck after the task ended")
		ctl.SetFunc(7, func(context.Context) error {
			time.Sleep(3 * d)
			return nil
		})
		require.NoError(t, p.SubmitWait(ctx, s.Task(ctl, 7)))
		assert.Len(t, reports(), 2, "a second long task is reported")
		st = p.Stats()
		assert.Equal(t, uint64(2), st.StuckTasks)
		assert.Equal(t, uint64(1), st.HookPanics)
		require.NoError(t, p.Shutdown(ctx))
		synctest.Wait() // the watchdog sees the pool's end
		assert.Equal(t, 0, p.Stats().Stuck, "Stats.Stuck after Shutdown")
	})
}

// testWatchdogShutdown: Shutdown and ShutdownNow return only once the
// watchdog's goroutine has ended: its handler, called for a task that
// ended just after it was reported, has returned, and a panic in it is
// counted, before the pool says it has stopped; nothing of the pool runs
// after that.
func testWatchdogShutdown[T any](t *testing.T, s *suite[T]) {
	const d = 40 * time.Millisecond
	for _, now := range []bool{false, true} {
		bubble(t, func(t *testing.T) {
			ctl := probe.New(1)
			reported := make(chan struct{})
			var returned atomic.Bool
			p := s.start(t, 1, poolrt.Watchdog(d, func(poolrt.StuckTask) {
				close(reported)
				time.Sleep(d) // the handler is still running as the pool stops
				returned.Store(true)
				panic("watchdog hook")
			}))
			ctl.SetFunc(0, func(context.Context) error {
				<-reported
				return nil
			})
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 0)))
			<-reported
			if now {
				assert.Empty(t, p.ShutdownNow())
			} else {
				require.NoError(t, p.Shutdown(context.Background()))
			}
			assert.True(t, returned.Load(), "the watchdog's handler still runs after Shutdown (now: %v) returned", now)
			assert.Equal(t, uint64(1), p.Stats().HookPanics, "the handler's panic is counted by the time the pool has stopped")
		})
	}
}
