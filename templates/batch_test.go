package templates_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// order is a batchable task: orders of one customer share a batch.
type order struct {
	ID       int
	Customer string
}

func (o order) BatchKey() string { return o.Customer }

// sink records every batch a handler got, copying it (the pool reuses the
// slice).
type sink struct {
	mu      sync.Mutex
	batches [][]order
	gate    chan struct{} // if non-nil, the handler waits on it
	fail    func([]order) error
}

func (s *sink) handle(ctx context.Context, b []order) error {
	s.mu.Lock()
	s.batches = append(s.batches, slices.Clone(b))
	gate, fail := s.gate, s.fail
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail != nil {
		return fail(b)
	}
	return nil
}

func (s *sink) got() [][]order {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.batches)
}

func ids(b []order) []int {
	out := make([]int, len(b))
	for i, o := range b {
		out[i] = o.ID
	}
	return out
}

func newBatchPool(t *testing.T, s *sink, opts ...poolrt.Option) *templates.BatchPool[order, string] {
	t.Helper()
	p, err := templates.NewBatchPool[order, string](s.handle, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { p.ShutdownNow() })
	return p
}

func TestBatchFlushOnSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sink{}
		p := newBatchPool(t, s, poolrt.Workers(1), poolrt.MaxBatch(4), poolrt.Linger(time.Hour))
		for i := range 8 {
			require.NoError(t, p.Submit(context.Background(), order{ID: i, Customer: "a"}))
		}
		synctest.Wait()
		got := s.got()
		require.Len(t, got, 2, "two full batches, handed over without waiting for the linger time")
		assert.Equal(t, []int{0, 1, 2, 3}, ids(got[0]))
		assert.Equal(t, []int{4, 5, 6, 7}, ids(got[1]))
		st := p.Stats()
		assert.EqualValues(t, 2, st.Batch.Full)
		assert.EqualValues(t, 0, st.Batch.Linger)
		assert.EqualValues(t, 8, st.Completed)
		assert.EqualValues(t, 2, st.Batch.Sizes[2], "two batches of 3 to 4 tasks")
		assert.Equal(t, 4.0, st.Batch.MeanSize)
	})
}

func TestBatchFlushOnLinger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sink{}
		p := newBatchPool(t, s, poolrt.MaxBatch(100), poolrt.Linger(10*time.Millisecond))
		start := time.Now()
		for i := range 3 {
			require.NoError(t, p.Submit(context.Background(), order{ID: i, Customer: "a"}))
			time.Sleep(time.Millisecond)
		}
		synctest.Wait()
		assert.Empty(t, s.got(), "nothing handed over before the linger time")
		time.Sleep(10*time.Millisecond - time.Since(start) - time.Nanosecond)
		synctest.Wait()
		assert.Empty(t, s.got(), "nothing handed over 1 ns before the linger time")
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		got := s.got()
		require.Len(t, got, 1, "the batch is handed over when its first task has waited Linger")
		assert.Equal(t, []int{0, 1, 2}, ids(got[0]))
		assert.EqualValues(t, 1, p.Stats().Batch.Linger)

		// The next batch's clock starts at its own first task.
		time.Sleep(time.Hour)
		require.NoError(t, p.Submit(context.Background(), order{ID: 3, Customer: "a"}))
		time.Sleep(9 * time.Millisecond)
		synctest.Wait()
		assert.Len(t, s.got(), 1)
		time.Sleep(time.Millisecond)
		synctest.Wait()
		assert.Len(t, s.got(), 2)
	})
}

func TestBatchGroupsByKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sink{}
		p := newBatchPool(t, s, poolrt.MaxBatch(3), poolrt.Linger(time.Second))
		customers := []string{"a", "b", "a", "c", "b", "a", "b", "c"}
		for i, c := range customers {
			require.NoError(t, p.Submit(context.Background(), order{ID: i, Customer: c}))
		}
		require.NoError(t, p.Shutdown(context.Background()))
		got := s.got()
		seen := map[int]bool{}
		for _, b := range got {
			for _, o := range b {
				assert.Equal(t, b[0].Customer, o.Customer, "a batch holds one key: %v", b)
				assert.False(t, seen[o.ID], "order %d handed over twice", o.ID)
				seen[o.ID] = true
			}
			assert.True(t, slices.IsSorted(ids(b)), "a batch keeps submission order: %v", ids(b))
		}
		assert.Len(t, seen, len(customers), "every order handed over")
		st := p.Stats()
		assert.EqualValues(t, 2, st.Batch.Full, "a and b filled a batch of 3")
		assert.EqualValues(t, 1, st.Batch.Shutdown, "c's open batch, flushed at shutdown")
	})
}

func TestBatchShutdownFlushesEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sink{}
		p := newBatchPool(t, s, poolrt.MaxBatch(64), poolrt.Linger(time.Hour))
		for i := range 10 {
			require.NoError(t, p.Submit(context.Background(), order{ID: i, Customer: string(rune('a' + i%3))}))
		}
		start := time.Now()
		require.NoError(t, p.Shutdown(context.Background()))
		assert.Zero(t, time.Since(start), "Shutdown does not wait for the linger time")
		n := 0
		for _, b := range s.got() {
			n += len(b)
		}
		assert.Equal(t, 10, n)
		st := p.Stats()
		assert.EqualValues(t, 3, st.Batch.Shutdown)
		assert.EqualValues(t, 10, st.Completed)
		assert.Zero(t, st.QueueDepth)
		assert.ErrorIs(t, p.Submit(context.Background(), order{}), poolrt.ErrClosed)
	})
}

func TestBatchFailureReportsTasks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("database down")
		s := &sink{fail: func(b []order) error {
			if b[0].Customer == "bad" {
				return boom
			}
			return nil
		}}
		var mu sync.Mutex
		var reported []error
		p := newBatchPool(t, s, poolrt.MaxBatch(2), poolrt.Linger(time.Second),
			poolrt.OnError(func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }))
		for i := range 4 {
			c := "good"
			if i < 2 {
				c = "bad"
			}
			require.NoError(t, p.Submit(context.Background(), order{ID: i, Customer: c}))
		}
		require.NoError(t, p.Shutdown(context.Background()))
		require.Len(t, reported, 1)
		var be *poolrt.BatchError
		require.ErrorAs(t, reported[0], &be)
		assert.ErrorIs(t, be, boom)
		assert.ErrorIs(t, be, poolrt.ErrBatchFailed)
		assert.Equal(t, 2, be.Size)
		assert.Equal(t, []order{{0, "bad"}, {1, "bad"}}, be.Tasks, "the failed batch's tasks, copied")
		st := p.Stats()
		assert.EqualValues(t, 4, st.Completed)
		assert.EqualValues(t, 2, st.Failed)
		assert.EqualValues(t, 1, st.Batch.Failed)
	})
}

func TestBatchHandlerPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sink{fail: func(b []order) error {
			if b[0].Customer == "boom" {
				panic("handler bug")
			}
			return nil
		}}
		var mu sync.Mutex
		var pes []*poolrt.PanicError
		p := newBatchPool(t, s, poolrt.Workers(1), poolrt.MaxBatch(2), poolrt.Linger(time.Second),
			poolrt.OnPanic(func(pe *poolrt.PanicError) { mu.Lock(); pes = append(pes, pe); mu.Unlock() }))
		for i, c := range []string{"boom", "boom", "ok", "ok"} {
			require.NoError(t, p.Submit(context.Background(), order{ID: i, Customer: c}))
		}
		require.NoError(t, p.Shutdown(context.Background()))
		require.Len(t, pes, 1)
		assert.Equal(t, "handler bug", pes[0].Value)
		assert.Equal(t, []order{{0, "boom"}, {1, "boom"}}, pes[0].Task)
		assert.Contains(t, string(pes[0].Stack), "batch_test.go", "the stack is the handler's")
		st := p.Stats()
		assert.EqualValues(t, 2, st.Panicked)
		assert.EqualValues(t, 2, st.Completed, "the pool kept serving after the panic")
	})
}

func TestBatchShutdownNowReturnsUnhandled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sink{gate: make(chan struct{})}
		p := newBatchPool(t, s, poolrt.Workers(1), poolrt.MaxBatch(2), poolrt.Linger(time.Hour))
		for i := range 7 {
			require.NoError(t, p.Submit(context.Background(), order{ID: i, Customer: "a"}))
		}
		synctest.Wait() // the worker is in the handler with {0, 1}
		left := p.ShutdownNow()
		assert.Equal(t, []int{2, 3, 4, 5, 6}, ids(left), "ready batches, then the open one")
		assert.Nil(t, p.ShutdownNow(), "only the first call returns tasks")
		st := p.Stats()
		assert.EqualValues(t, 5, st.Returned)
		assert.Zero(t, st.QueueDepth)
		require.Len(t, s.got(), 1)
	})
}

func TestBatchQueueBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sink{gate: make(chan struct{})}
		p := newBatchPool(t, s, poolrt.Workers(1), poolrt.MaxBatch(2), poolrt.QueueSize(4), poolrt.Linger(time.Hour))
		for i := range 2 {
			require.NoError(t, p.Submit(context.Background(), order{ID: i, Customer: "a"}))
		}
		synctest.Wait() // {0, 1} is being handled: its room is free again
		for i := 2; i < 6; i++ {
			require.NoError(t, p.TrySubmit(order{ID: i, Customer: string(rune('a' + i))}))
		}
		assert.ErrorIs(t, p.TrySubmit(order{ID: 6, Customer: "z"}), poolrt.ErrQueueFull)
		st := p.Stats()
		assert.Equal(t, 4, st.QueueDepth)
		assert.EqualValues(t, 1, st.Rejected)

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		assert.ErrorIs(t, p.Submit(ctx, order{ID: 7, Customer: "z"}), context.DeadlineExceeded)
		close(s.gate)
	})
}

func TestBatchLingerZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &sink{}
		p := newBatchPool(t, s, poolrt.Workers(1), poolrt.MaxBatch(8), poolrt.Linger(0))
		require.NoError(t, p.Submit(context.Background(), order{ID: 1, Customer: "a"}))
		synctest.Wait()
		require.Len(t, s.got(), 1, "a free worker takes a batch at once")
		assert.EqualValues(t, 1, p.Stats().Batch.Idle)
	})
}

func TestBatchConfig(t *testing.T) {
	var s sink
	_, err := templates.NewBatchPool[order, string](nil)
	var ce *poolrt.ConfigError
	assert.ErrorAs(t, err, &ce, "nil handler")
	for _, opts := range [][]poolrt.Option{
		{poolrt.MaxBatch(0)},
		{poolrt.Linger(-1)},
		{poolrt.MaxBatch(100), poolrt.QueueSize(10)},
		{poolrt.LatencySampling(0)},
	} {
		_, err := templates.NewBatchPool[order, string](s.handle, opts...)
		assert.ErrorAs(t, err, &ce, "%v", opts)
	}
}

// TestBatchAllocs: a steady stream of tasks allocates nothing, per task or
// per batch: batches and their slices are reused.
func TestBatchAllocs(t *testing.T) {
	var handled sync.WaitGroup
	p, err := templates.NewBatchPool[order, string](func(ctx context.Context, b []order) error {
		handled.Add(-len(b))
		return nil
	}, poolrt.Workers(1), poolrt.MaxBatch(8), poolrt.Linger(time.Hour))
	require.NoError(t, err)
	defer p.ShutdownNow()
	ctx := context.Background()
	round := func() {
		handled.Add(16)
		for i := range 16 {
			p.Submit(ctx, order{ID: i, Customer: "k"})
		}
		handled.Wait()
	}
	for range 10 {
		round() // warm up: batches and map buckets exist
	}
	if a := testing.AllocsPerRun(100, round); a != 0 {
		t.Errorf("%v allocations per 16 tasks (2 batches), want 0", a)
	}
}
