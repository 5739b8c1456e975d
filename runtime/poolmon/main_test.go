package poolmon

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/registry"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fake is a pool whose Stats a test writes: it makes the sampler's input,
// and so every sample and alert, exactly what the test says.
type fake struct {
	mu    sync.Mutex
	st    poolrt.Stats
	start time.Time
	run   time.Duration // sum of run times, for Run.Mean
}

// addFake registers a fake pool under name until the test ends.
func addFake(t *testing.T, name, pattern string) *fake {
	t.Helper()
	f := &fake{start: time.Now()}
	e := &registry.Entry{Name: name, Pattern: pattern, Task: "poolmon.fakeTask", Stats: f.Stats}
	require.NoError(t, registry.Add(e))
	t.Cleanup(func() { registry.Remove(e) })
	return f
}

func (f *fake) Stats() poolrt.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.st
	st.Uptime = time.Since(f.start)
	return st
}

// step changes the fake's statistics.
func (f *fake) step(change func(st *poolrt.Stats)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(&f.st)
}

// ran records n timed tasks that ran d each.
func (f *fake) ran(n int, d time.Duration) {
	f.step(func(st *poolrt.Stats) {
		f.run += time.Duration(n) * d
		st.Run.Count += uint64(n)
		st.Run.Buckets[class(d)] += uint64(n)
		st.Run.Mean = f.run / time.Duration(st.Run.Count)
		st.Completed += uint64(n)
		st.Submitted += uint64(n)
	})
}

// class returns d's class in Latency.Buckets.
func class(d time.Duration) int {
	for i := range len(poolrt.Latency{}.Buckets) - 1 {
		if _, hi := bucketBounds(i); float64(d) < hi {
			return i
		}
	}
	return len(poolrt.Latency{}.Buckets) - 1
}

// sleepTask is a real pool's task: it takes a little time.
type sleepTask struct{ d time.Duration }

func (s sleepTask) Run(ctx context.Context) error {
	select {
	case <-time.After(s.d):
	case <-ctx.Done():
	}
	return nil
}

// start starts a monitor that the test stops.
func start(t *testing.T, cfg Config) *Monitor {
	t.Helper()
	m, err := Start(cfg)
	require.NoError(t, err)
	t.Cleanup(m.Stop)
	return m
}

// tick lets one interval pass under synctest: the sampler has taken its
// sample when it returns.
func tick(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}
