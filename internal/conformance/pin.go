package conformance

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// testPinWorkers: on Linux each worker runs on a thread bound to one CPU
// of the process's mask, its own for as long as it lives (a panic's
// replacement pins itself again), and Stats.Affinity reports the pinned
// workers and the CPU time their threads used; elsewhere the option is a
// *ConfigError. It runs in real time: the pinned threads are real.
func testPinWorkers[T any](t *testing.T, s *suite[T]) {
	if runtime.GOOS != "linux" {
		_, err := s.New(poolrt.PinWorkers())
		var ce *poolrt.ConfigError
		assert.ErrorAs(t, err, &ce)
		return
	}
	allowed := threadCPUs(t)
	const n = 40
	ctl := probe.New(n)
	var mu sync.Mutex
	threads := map[int]int{} // thread → the one CPU it may run on
	for id := range n {
		ctl.SetFunc(id, func(context.Context) error {
			cpus := threadCPUs(t)
			tid := gettid()
			mu.Lock()
			defer mu.Unlock()
			if assert.Len(t, cpus, 1, "task %d: its thread is bound to one CPU", id) {
				if cpu, seen := threads[tid]; seen {
					assert.Equal(t, cpu, cpus[0], "a thread keeps its CPU")
				}
				threads[tid] = cpus[0]
				assert.Contains(t, allowed, cpus[0], "a CPU of the process's mask")
			}
			burnCPU(t, time.Millisecond)
			if id == n/2 {
				panic(probe.ErrProbe)
			}
			return nil
		})
	}
	p := s.start(t, 2, poolrt.PinWorkers(), poolrt.OnPanic(func(*poolrt.PanicError) {}), poolrt.QueueSize(n))
	for id := range n {
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
	}
	require.Eventually(t, func() bool { return p.Stats().Completed == n-1 }, 10*time.Second, time.Millisecond)
	st := p.Stats()
	if assert.NotNil(t, st.Affinity) {
		a := st.Affinity
		assert.Equal(t, 2, a.Pinned, "both workers pinned, the panic's replacement included")
		assert.Equal(t, len(allowed), a.CPUs)
		assert.GreaterOrEqual(t, a.NUMANodes, 1)
		assert.Zero(t, a.PinFailed)
		assert.GreaterOrEqual(t, a.CPUTime, time.Duration(n)*time.Millisecond, "the tasks' CPU time is counted")
		assert.LessOrEqual(t, a.CPUTime, a.PinnedTime)
		assert.Len(t, a.WorkerCPU, 2)
		var sum time.Duration
		for _, c := range a.WorkerCPU {
			sum += c
		}
		assert.Equal(t, a.CPUTime, sum)
		assert.Greater(t, a.CPUUtilization, 0.0)
	}
	mu.Lock()
	assert.GreaterOrEqual(t, len(threads), 2, "tasks ran on pinned threads")
	mu.Unlock()
	require.NoError(t, p.Shutdown(context.Background()))
	st = p.Stats()
	assert.Equal(t, 0, st.Affinity.Pinned, "no worker pinned after shutdown")
	identity(t, st)
}
