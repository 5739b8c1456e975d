package conformance

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
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
	var arrived atomic.Int32
	for id := range n {
		ctl.SetFunc(id, func(context.Context) error {
			cpus := threadCPUs(t)
			tid := gettid()
			mu.Lock()
			if assert.Len(t, cpus, 1, "task %d: its thread is bound to one CPU", id) {
				if cpu, seen := threads[tid]; seen {
					assert.Equal(t, cpu, cpus[0], "a thread keeps its CPU")
				}
				threads[tid] = cpus[0]
				assert.Contains(t, allowed, cpus[0], "a CPU of the process's mask")
			}
			mu.Unlock()
			if id < 2 {
				// Tasks 0 and 1 wait for each other: one on each worker.
				arrived.Add(1)
				for deadline := time.Now().Add(5 * time.Second); arrived.Load() < 2 && time.Now().Before(deadline); {
					runtime.Gosched()
				}
				return nil
			}
			burnCPU(t, time.Millisecond)
			if id == n/2 {
				panic(probe.ErrProbe)
			}
			return nil
		})
	}
	p := s.start(t, 2, poolrt.PinWorkers(), poolrt.OnPanic(func(*poolrt.PanicError) {}), poolrt.QueueSize(n))
	for id := range 2 {
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
	}
	require.Eventually(t, func() bool { return p.Stats().Completed == 2 }, 10*time.Second, time.Millisecond)
	mu.Lock()
	require.Len(t, threads, 2, "each worker its own thread")
	if len(allowed) >= 2 {
		var cpus []int
		for _, c := range threads {
			cpus = append(cpus, c)
		}
		assert.NotEqual(t, cpus[0], cpus[1], "two workers on two CPUs")
	}
	mu.Unlock()
	for id := 2; id < n; id++ {
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
	}
	require.Eventually(t, func() bool {
		st := p.Stats()
		return st.Completed == n-1 && st.Affinity.Pinned == 2
	}, 10*time.Second, time.Millisecond, "both workers pinned, the panic's replacement included")
	st := p.Stats()
	if assert.NotNil(t, st.Affinity) {
		a := st.Affinity
		assert.Equal(t, len(allowed), a.CPUs)
		assert.GreaterOrEqual(t, a.NUMANodes, 1)
		assert.Zero(t, a.PinFailed)
		assert.GreaterOrEqual(t, a.CPUTime, time.Duration(n-2)*time.Millisecond, "the tasks' CPU time is counted")
		assert.LessOrEqual(t, a.CPUTime, a.PinnedTime)
		assert.Len(t, a.WorkerCPU, 2)
		var sum time.Duration
		for _, c := range a.WorkerCPU {
			sum += c
		}
		assert.Equal(t, a.CPUTime, sum)
		assert.Greater(t, a.CPUUtilization, 0.0)
	}
	require.NoError(t, p.Shutdown(context.Background()))
	st = p.Stats()
	assert.Equal(t, 0, st.Affinity.Pinned, "no worker pinned after shutdown")
	identity(t, st)
}
