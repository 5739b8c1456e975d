package conformance

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolimpl"
)

// errHook is what the tests' hooks panic with.
var errHook = errors.New("conformance: hook panicked on purpose")

// captureSlog sends log/slog's default logger's records to a buffer for
// the rest of the test.
func captureSlog(t *testing.T) *syncBuffer {
	var buf syncBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return &buf
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testDefaultReports: without a hook, a failing task and a panicking one
// are each reported once through log/slog, and both records name the
// task's type (task_type, as %T prints it; a batch pool's reports name
// the batch's type, []T) after the pool's pattern.
func testDefaultReports[T any](t *testing.T, s *suite[T]) {
	logged := captureSlog(t)
	bubble(t, func(t *testing.T) {
		ctl := probe.New(2)
		p := s.start(t, 1)
		ctl.Set(0, probe.Fail)
		ctl.Set(1, probe.Panic)
		for id := range 2 {
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		require.NoError(t, p.Shutdown(context.Background()))
		assertRuns(t, ctl, 1, 0, 1)
		st := p.Stats()
		assert.Equal(t, uint64(1), st.Failed, "Failed")
		assert.Equal(t, uint64(1), st.Panicked, "Panicked")
		assertSettled(t, st)
	})
	typ := reflect.TypeFor[T]()
	if s.Pattern == Batch {
		typ = reflect.TypeFor[[]T]()
	}
	for _, msg := range []string{"poolgen: task failed", "poolgen: task panicked"} {
		var records []string
		for line := range strings.Lines(logged.String()) {
			if strings.Contains(line, "msg=\""+msg+"\"") {
				records = append(records, line)
			}
		}
		if assert.Len(t, records, 1, "records %q in the log:\n%s", msg, logged) {
			assert.Regexp(t, ` pattern=\S+ task_type=`+regexp.QuoteMeta(typ.String())+` `, records[0], "the record names the task's type")
		}
	}
}

// testHookPanicOnError: an OnError handler that panics is contained: the
// failed task stays counted once (completed, failed; not panicked), the
// panic is counted in HookPanics and logged, OnPanic hears nothing, and
// the pool goes on serving.
func testHookPanicOnError[T any](t *testing.T, s *suite[T]) {
	logged := captureSlog(t)
	bubble(t, func(t *testing.T) {
		ctl := probe.New(2)
		var rec recorder
		p := s.start(t, 1, poolrt.OnPanic(rec.onPanic), poolrt.OnError(func(error) { panic(errHook) }))
		ctl.Set(0, probe.Fail)
		for id := range 2 {
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		require.NoError(t, p.Shutdown(context.Background()))
		assertRuns(t, ctl, 1, 0, 1)
		st := p.Stats()
		assert.Equal(t, uint64(2), st.Submitted, "Submitted")
		assert.Equal(t, uint64(2), st.Completed, "Completed")
		assert.Equal(t, uint64(1), st.Failed, "Failed")
		assert.Zero(t, st.Panicked, "Panicked: the task did not panic, its OnError did")
		assert.Equal(t, uint64(1), st.HookPanics, "HookPanics")
		assert.Empty(t, rec.panicked(), "reports to OnPanic")
		assertSettled(t, st)
	})
	assert.Contains(t, logged.String(), "hook=OnError", "the hook's panic is logged, naming the hook")
	assert.Contains(t, logged.String(), errHook.Error(), "the hook's panic value is logged")
}

// testHookPanicOnPanic: an OnPanic handler that panics is contained: the
// task counts once as panicked, the hook's panic in HookPanics, and the
// pool goes on serving with all its workers.
func testHookPanicOnPanic[T any](t *testing.T, s *suite[T]) {
	logged := captureSlog(t)
	bubble(t, func(t *testing.T) {
		const workers = 2
		ctl := probe.New(2 + workers)
		var reported int
		p := s.start(t, workers, poolrt.OnPanic(func(*poolrt.PanicError) { reported++; panic(errHook) }))
		ctl.Set(0, probe.Panic)
		for id := range 2 {
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		synctest.Wait()
		s.block(t, p, ctl, span(2, 2+workers)...) // every worker is still there
		ctl.Release()
		require.NoError(t, p.Shutdown(context.Background()))
		assertRuns(t, ctl, 1, span(0, 2+workers)...)
		st := p.Stats()
		assert.Equal(t, 1, reported, "reports to OnPanic")
		assert.Equal(t, uint64(1), st.Panicked, "Panicked")
		assert.Equal(t, uint64(1+workers), st.Completed, "Completed")
		assert.Equal(t, uint64(1), st.HookPanics, "HookPanics")
		assertSettled(t, st)
	})
	assert.Contains(t, logged.String(), "hook=OnPanic", "the hook's panic is logged, naming the hook")
}

// testCallerRunsGoexit: a task that calls runtime.Goexit on its submitter's
// goroutine (CallerRuns) ends that goroutine, and is counted once, as
// panicked, and reported with poolrt.ErrGoexit.
func testCallerRunsGoexit[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const workers, size = 1, 1
		ctl := probe.New(4)
		var rec recorder
		p := s.start(t, workers, append(rec.opts(), poolrt.QueueSize(size), poolrt.OnFull(poolrt.CallerRuns))...)
		s.block(t, p, ctl, 0)
		require.NoError(t, p.Submit(context.Background(), s.Task(ctl, 1))) // fills the queue
		ctl.Set(2, probe.Goexit)
		returned := false
		go func() {
			_ = p.Submit(context.Background(), s.Task(ctl, 2))
			returned = true
		}()
		synctest.Wait()
		assert.False(t, returned, "Submit returned on a goroutine that called runtime.Goexit")
		assertRuns(t, ctl, 1, 2)
		ctl.Release()
		require.NoError(t, p.Shutdown(context.Background()))
		st := p.Stats()
		assert.Equal(t, uint64(1), st.CallerRuns, "CallerRuns")
		assert.Equal(t, uint64(1), st.Panicked, "Panicked")
		assert.Equal(t, uint64(2), st.Completed, "Completed")
		if st.Batch != nil {
			assert.Equal(t, uint64(1), st.Batch.Failed, "Batch.Failed")
		}
		pes := rec.panicked()
		if assert.Len(t, pes, 1, "reports to OnPanic") {
			checkPanicError(t, pes[0], probe.Goexit)
		}
		assertSettled(t, st)
	})
}

// testNilTask: a pool of pointer tasks refuses a nil task with
// poolrt.ErrNilTask, at Submit and TrySubmit, and counts nothing; its Run
// would panic on a worker. (Value task types cannot be nil.)
func testNilTask[T any](t *testing.T, s *suite[T]) {
	if !poolimpl.Nilable[T]() {
		t.Skip("the task type is not a pointer")
	}
	bubble(t, func(t *testing.T) {
		p := s.start(t, 1)
		var nilTask T
		assert.ErrorIs(t, p.Submit(context.Background(), nilTask), poolrt.ErrNilTask, "Submit(nil)")
		assert.ErrorIs(t, p.TrySubmit(nilTask), poolrt.ErrNilTask, "TrySubmit(nil)")
		require.NoError(t, p.Shutdown(context.Background()))
		st := p.Stats()
		assert.Zero(t, st.Submitted, "Submitted")
		assert.Zero(t, st.Panicked, "Panicked")
		assert.Zero(t, st.Rejected, "Rejected")
	})
}

// testQuietAfterShutdown: once Shutdown has returned, no task and no call
// of a hook runs any more, however the tasks ended (panics, Goexit,
// errors), and goleak finds no goroutine of the pool.
func testQuietAfterShutdown[T any](t *testing.T, s *suite[T]) {
	bubble(t, func(t *testing.T) {
		const workers, n = 3, 60
		ctl := probe.New(n)
		var shut atomic.Bool
		var late atomic.Int32
		note := func() {
			if shut.Load() {
				late.Add(1)
			}
		}
		p := s.start(t, workers,
			poolrt.OnPanic(func(*poolrt.PanicError) { note() }),
			poolrt.OnError(func(error) { note() }))
		kinds := []probe.Behavior{probe.Panic, probe.Goexit, probe.Fail, probe.Call}
		for id := range n {
			if kinds[id%len(kinds)] == probe.Call {
				ctl.SetFunc(id, func(context.Context) error { note(); return nil })
			} else {
				ctl.Set(id, kinds[id%len(kinds)])
			}
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		require.NoError(t, p.Shutdown(context.Background()))
		ended := ctl.Ended()
		shut.Store(true)
		synctest.Wait() // whatever the pool's goroutines still do, they do now
		assert.Equal(t, n, ended, "task runs ended before Shutdown returned")
		assert.Zero(t, late.Load(), "tasks or hooks that ran after Shutdown returned")
		assertRuns(t, ctl, 1, span(0, n)...)
	})
}

// testHookGoexit: an OnError or OnPanic that calls runtime.Goexit is
// contained like a panicking one: counted once in HookPanics, the task
// keeps its one outcome, and the pool goes on with all its workers.
func testHookGoexit[T any](t *testing.T, s *suite[T]) {
	captureSlog(t)
	bubble(t, func(t *testing.T) {
		const workers = 2
		ctl := probe.New(3 + workers)
		p := s.start(t, workers,
			poolrt.OnError(func(error) { runtime.Goexit() }),
			poolrt.OnPanic(func(*poolrt.PanicError) { runtime.Goexit() }))
		ctl.Set(0, probe.Fail)
		ctl.Set(1, probe.Panic)
		for id := range 3 {
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		synctest.Wait()
		s.block(t, p, ctl, span(3, 3+workers)...) // every worker is still there
		ctl.Release()
		require.NoError(t, p.Shutdown(context.Background()))
		assertRuns(t, ctl, 1, span(0, 3+workers)...)
		st := p.Stats()
		assert.Equal(t, uint64(1), st.Panicked, "Panicked")
		assert.Equal(t, uint64(2+workers), st.Completed, "Completed")
		assert.Equal(t, uint64(1), st.Failed, "Failed")
		assert.Equal(t, uint64(2), st.HookPanics, "HookPanics: one Goexit in OnError, one in OnPanic")
		assertSettled(t, st)
	})
}
