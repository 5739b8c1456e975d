package conformance

import (
	"context"
	"errors"
	"runtime"
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

// conn is a worker resource for the tests: it knows whether it is open,
// and counts its closes.
type conn struct {
	id     int
	closes atomic.Int32
	used   atomic.Int32 // tasks that ran with it
}

// conns opens and closes conns and keeps every one it opened, so that a
// test can check that each was closed exactly once.
type conns struct {
	mu     sync.Mutex
	all    []*conn
	fail   func(n int) error // fails open number n (0-based), or nil
	opens  int               // open calls
	closed chan *conn        // every close, in order (buffered)
}

func newConns(fail func(n int) error) *conns {
	return &conns{fail: fail, closed: make(chan *conn, 1024)}
}

func (c *conns) open(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.opens
	c.opens++
	if c.fail != nil {
		if err := c.fail(n); err != nil {
			return nil, err
		}
	}
	r := &conn{id: len(c.all)}
	c.all = append(c.all, r)
	return r, nil
}

func (c *conns) close(r *conn) {
	r.closes.Add(1)
	c.closed <- r
}

func (c *conns) option() poolrt.Option { return poolrt.WorkerResource(c.open, c.close) }

func (c *conns) opened() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.all)
}

// balanced checks that every conn opened was closed exactly once, and
// that Stats.Resources agrees.
func (c *conns) balanced(t *testing.T, st poolrt.Stats) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.all {
		assert.Equal(t, int32(1), r.closes.Load(), "conn %d closed once", r.id)
	}
	if assert.NotNil(t, st.Resources, "Stats.Resources") {
		assert.Equal(t, uint64(len(c.all)), st.Resources.Opened, "Opened")
		assert.Equal(t, uint64(len(c.all)), st.Resources.Closed, "Closed")
		assert.Equal(t, 0, st.Resources.Open, "Open after shutdown")
		assert.Equal(t, 0, st.Resources.Unhealthy, "Unhealthy after shutdown")
	}
}

// usesConn makes task id of ctl check that its context answers an open
// conn of its worker's, and count the use; then do what then does (nil:
// succeed).
func usesConn(t *testing.T, ctl *probe.Control, id int, then func() error) {
	ctl.SetFunc(id, func(ctx context.Context) error {
		r, ok := poolrt.Resource[*conn](ctx)
		if !assert.True(t, ok, "task %d: Resource finds its worker's conn", id) {
			return nil
		}
		assert.Zero(t, r.closes.Load(), "task %d: its conn is open", id)
		_, wrong := poolrt.Resource[string](ctx)
		assert.False(t, wrong, "Resource of another type")
		derived, cancel := context.WithCancel(ctx)
		defer cancel()
		same, _ := poolrt.Resource[*conn](derived)
		assert.Same(t, r, same, "a derived context leads to the conn")
		r.used.Add(1)
		if then != nil {
			return then()
		}
		return nil
	})
}

// testWorkerResource: every task sees an open resource of its worker's;
// each worker opens one as it starts, a panicking task's worker closes
// its own and its replacement opens a fresh one, and Shutdown and
// ShutdownNow return only once every resource opened is closed, once.
// OnFull(CallerRuns) is refused: a task run by its submitter has no
// worker.
func testWorkerResource[T any](t *testing.T, s *suite[T]) {
	_, err := s.New(append(s.workerOpts(2), poolrt.OnFull(poolrt.CallerRuns), newConns(nil).option())...)
	var ce *poolrt.ConfigError
	if assert.ErrorAs(t, err, &ce, "CallerRuns with a worker resource") {
		assert.Contains(t, err.Error(), "WorkerResource[*conformance.conn]")
	}
	_, err = s.New(poolrt.WorkerResource[int](nil, func(int) {}))
	assert.ErrorAs(t, err, &ce, "a nil open")

	for _, now := range []bool{false, true} {
		bubble(t, func(t *testing.T) {
			const n = 40
			cs := newConns(nil)
			ctl := probe.New(n)
			p := s.start(t, 3, cs.option(), poolrt.OnPanic(func(*poolrt.PanicError) {}), poolrt.QueueSize(n))
			synctest.Wait()
			assert.Equal(t, 3, cs.opened(), "each worker opens its resource as it starts")
			for id := range n {
				var then func() error
				switch id % 10 {
				case 3:
					then = func() error { panic(probe.ErrProbe) }
				case 7:
					then = func() error { return probe.ErrProbe }
				}
				usesConn(t, ctl, id, then)
			}
			if now {
				ctl.Set(n-1, probe.Block)
			}
			for id := range n {
				require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
			}
			if now {
				<-ctl.Started()
				p.ShutdownNow()
			} else {
				require.NoError(t, p.Shutdown(context.Background()))
			}
			st := p.Stats()
			identity(t, st)
			panics := 0
			for id := range n {
				if ctl.Runs(id) > 0 && id%10 == 3 {
					panics++
				}
			}
			assert.Equal(t, uint64(panics), st.Panicked)
			assert.Equal(t, 3+panics, cs.opened(), "a panic's replacement opens a fresh resource")
			cs.balanced(t, st)
		})
	}
}

// testResourceFailures: a resource that fails to open a few times keeps
// its worker out of service, counted unhealthy, while it tries again with
// backoff; the pool serves with the others and the failures stop once it
// opens. A pool none of whose workers can open keeps its tasks queued:
// Shutdown waits for them until its context ends, ShutdownNow hands them
// back, and nothing was opened or closed. A worker that cannot open
// gives up when the pool drains while another one has its resource.
func testResourceFailures[T any](t *testing.T, s *suite[T]) {
	errDown := errors.New("down")
	// Opens 1 to 3 fail: one worker comes up at once, the other after
	// three failures.
	bubble(t, func(t *testing.T) {
		cs := newConns(func(n int) error {
			if n >= 1 && n <= 3 {
				return errDown
			}
			return nil
		})
		ctl := probe.New(20)
		p := s.start(t, 2, cs.option())
		synctest.Wait()
		st := p.Stats()
		assert.Equal(t, 1, st.Resources.Unhealthy, "the failing worker is unhealthy")
		assert.Equal(t, 1, st.Resources.Open)
		for id := range 10 {
			usesConn(t, ctl, id, nil)
			require.NoError(t, p.SubmitWait(context.Background(), s.Task(ctl, id)), "served by the healthy worker")
		}
		time.Sleep(time.Second) // 10ms + 20ms + 40ms of backoff and more
		synctest.Wait()
		st = p.Stats()
		assert.Equal(t, 0, st.Resources.Unhealthy, "recovered")
		assert.Equal(t, 2, st.Resources.Open)
		assert.Equal(t, uint64(3), st.Resources.Failed)
		for id := 10; id < 20; id++ {
			usesConn(t, ctl, id, nil)
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		require.NoError(t, p.Shutdown(context.Background()))
		st = p.Stats()
		assert.Equal(t, uint64(20), st.Completed)
		cs.balanced(t, st)
	})

	// Nothing opens: tasks wait; Shutdown times out; ShutdownNow returns
	// them.
	bubble(t, func(t *testing.T) {
		cs := newConns(func(int) error { return errDown })
		ctl := probe.New(4)
		p := s.start(t, 2, cs.option())
		for id := range 4 {
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		st := p.Stats()
		assert.Equal(t, 2, st.Resources.Unhealthy)
		assert.Equal(t, uint64(0), st.Completed, "no task runs without a resource")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		assert.ErrorIs(t, p.Shutdown(ctx), context.DeadlineExceeded, "Shutdown waits for the tasks")
		back := p.ShutdownNow()
		assert.Len(t, back, 4, "ShutdownNow hands the tasks back")
		st = p.Stats()
		identity(t, st)
		assert.Greater(t, st.Resources.Failed, uint64(2))
		cs.balanced(t, st)
	})

	// Only the first open succeeds: the other worker never comes up, and
	// Shutdown drains without it.
	bubble(t, func(t *testing.T) {
		cs := newConns(func(n int) error {
			if n > 0 {
				return errDown
			}
			return nil
		})
		ctl := probe.New(8)
		p := s.start(t, 2, cs.option())
		for id := range 8 {
			usesConn(t, ctl, id, nil)
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		require.NoError(t, p.Shutdown(context.Background()), "the unhealthy worker gives up")
		st := p.Stats()
		assert.Equal(t, uint64(8), st.Completed)
		assert.Equal(t, 1, cs.opened())
		cs.balanced(t, st)
	})

	// A panicking open is a failure.
	bubble(t, func(t *testing.T) {
		var calls atomic.Int32
		open := func(context.Context) (*conn, error) {
			if calls.Add(1) == 1 {
				panic("open panicked")
			}
			return &conn{}, nil
		}
		p := s.start(t, 1, poolrt.WorkerResource(open, func(*conn) {}))
		time.Sleep(time.Second)
		synctest.Wait()
		st := p.Stats()
		assert.Equal(t, uint64(1), st.Resources.Failed)
		assert.Equal(t, 1, st.Resources.Open)
		require.NoError(t, p.Shutdown(context.Background()))
	})
}

// testResourceScaleDown: a dynamic pool's workers open their resources as
// it grows and close them as they retire, each once; one that cannot
// open gives up when it retires.
func testResourceScaleDown[T any](t *testing.T, s *dynamicSuite[T]) {
	bubble(t, func(t *testing.T) {
		cs := newConns(nil)
		p := s.start(t, poolrt.WorkerLimits(1, 8), cs.option())
		synctest.Wait()
		assert.Equal(t, 1, cs.opened())
		require.NoError(t, p.SetLimits(6, 8))
		synctest.Wait()
		assert.Equal(t, 6, cs.opened(), "each new worker opens one")
		require.NoError(t, p.SetLimits(0, 2))
		synctest.Wait()
		st := p.Stats()
		assert.Equal(t, 2, st.Workers)
		assert.Equal(t, 2, st.Resources.Open)
		assert.Equal(t, uint64(4), st.Resources.Closed, "retiring workers close theirs")
		ctl := probe.New(10)
		for id := range 10 {
			usesConn(t, ctl, id, nil)
			require.NoError(t, p.Submit(context.Background(), s.Task(ctl, id)))
		}
		require.NoError(t, p.Shutdown(context.Background()))
		st = p.Stats()
		assert.Equal(t, uint64(10), st.Completed)
		cs.balanced(t, st)
	})

	bubble(t, func(t *testing.T) {
		cs := newConns(func(n int) error {
			if n > 0 {
				return errors.New("down")
			}
			return nil
		})
		p := s.start(t, poolrt.WorkerLimits(1, 8), cs.option())
		synctest.Wait() // the first worker opens the one resource that opens
		require.NoError(t, p.SetLimits(3, 8))
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, 2, p.Stats().Resources.Unhealthy)
		require.NoError(t, p.SetLimits(1, 1))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		st := p.Stats()
		assert.Equal(t, 1, st.Workers, "the unhealthy workers retired")
		assert.Equal(t, 0, st.Resources.Unhealthy)
		assert.Equal(t, 1, st.Resources.Open)
		require.NoError(t, p.Shutdown(context.Background()))
		cs.balanced(t, p.Stats())
	})
}

// testZeroAllocsWorkers: workers with a resource, and pinned ones where
// pinning is supported, still allocate nothing per task.
func testZeroAllocsWorkers[T any](t *testing.T, s *suite[T]) {
	opts := []poolrt.Option{newConns(nil).option()}
	if runtime.GOOS == "linux" {
		opts = append(opts, poolrt.PinWorkers())
	}
	zeroAllocs(t, s, opts...)
}
