package conformance

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolmon"
)

// patternNames are the names poolmon reports for the patterns.
var patternNames = map[Pattern]string{Fixed: "fixed", Dynamic: "dynamic", Stealing: "stealing", Priority: "priority", Batch: "batch", Fair: "fair"}

// listed returns the running pool named name, as poolmon lists it.
func listed(name string) (poolmon.Pool, bool) {
	for _, p := range poolmon.Pools() {
		if p.Name == name {
			return p, true
		}
	}
	return poolmon.Pool{}, false
}

// testNamed: a pool given poolrt.Name is listed by poolmon.Pools with its
// pattern, its task type and its live Stats, and its workers wear the
// profiler labels; another pool cannot take the name while the first
// runs (a *poolrt.ConfigError, and nothing started); the pool leaves the
// list once Shutdown returns, and the name is free again.
func testNamed[T any](t *testing.T, s *suite[T]) {
	name := "conformance " + t.Name()
	_, ok := listed(name)
	require.False(t, ok, "listed before it was created")
	p := s.start(t, 2, poolrt.Name(name))

	ctl := probe.New(1)
	require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 0)))
	got, ok := listed(name)
	require.True(t, ok, "a named pool is listed once its constructor returned")
	assert.Equal(t, patternNames[s.Pattern], got.Pattern, "Pattern")
	assert.Equal(t, reflect.TypeFor[T]().String(), got.Task, "Task")
	assert.Equal(t, uint64(1), got.Stats.Submitted, "Stats are the pool's own")
	// A task scheduled for later shows in the listing as in Stats.
	require.NoError(t, p.SubmitAfter(time.Hour, s.Task(ctl, 0)))
	got, _ = listed(name)
	if assert.NotNil(t, got.Stats.Scheduled, "the listing's Stats have the Scheduled section") {
		assert.Equal(t, 1, got.Stats.Scheduled.Pending, "Scheduled.Pending")
		assert.Equal(t, *p.Stats().Scheduled, *got.Stats.Scheduled, "the listing's Scheduled section is the pool's")
	}

	// A worker labels itself when it starts running: wait for the one
	// that ran the task.
	require.Eventually(t, func() bool { return p.Stats().Completed == 1 }, 10*time.Second, time.Millisecond)
	var prof bytes.Buffer
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&prof, 1))
	assert.Contains(t, prof.String(), `"poolgen.pool":`+strconv.Quote(name), "the workers' profiler labels")

	// While an execution trace is recorded, each task (each batch, for a
	// batch pool) is a region named after the pool.
	traced := traceWhile(t, func() {
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 0)))
		require.Eventually(t, func() bool { return p.Stats().Completed == 2 }, 10*time.Second, time.Millisecond)
	})
	region := "poolgen.task " + name
	if s.Pattern == Batch {
		region = "poolgen.batch " + name
	}
	assert.True(t, bytes.Contains(traced, []byte(region)), "the trace has no region %q", region)

	before := goleak.IgnoreCurrent()
	q, err := s.New(append(s.workerOpts(1), poolrt.Name(name))...)
	var ce *poolrt.ConfigError
	require.True(t, errors.As(err, &ce), "a second pool named %q: New returned %v, want a *poolrt.ConfigError", name, err)
	assert.Nil(t, q, "no pool with the error")
	assert.Contains(t, err.Error(), strconv.Quote(name))
	goleak.VerifyNone(t, before) // the refused constructor started nothing

	require.NoError(t, p.Shutdown(context.Background()))
	_, ok = listed(name)
	assert.False(t, ok, "the pool left the list when Shutdown returned")
	q, err = s.New(append(s.workerOpts(1), poolrt.Name(name))...)
	require.NoError(t, err, "the name is free once its pool has shut down")
	q.ShutdownNow()
	_, ok = listed(name)
	assert.False(t, ok, "ShutdownNow: the pool left the list")
}

// traceMu serializes the tests that record an execution trace: there is
// one tracer per process.
var traceMu sync.Mutex

// traceWhile records an execution trace while f runs and returns it.
func traceWhile(t *testing.T, f func()) []byte {
	traceMu.Lock()
	defer traceMu.Unlock()
	var buf bytes.Buffer
	require.NoError(t, trace.Start(&buf))
	f()
	trace.Stop()
	return buf.Bytes()
}
