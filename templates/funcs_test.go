package templates_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// chore is a task whose rank is in fields tagged for poolgen: besides Run
// it has no method, so no method-based priority pool takes it, and the
// Func pools read its fields through the functions below.
type chore struct {
	ID      int
	Urgency int       `poolgen:"priority"`
	Due     time.Time `poolgen:"deadline"`
	Minutes int64     `poolgen:"cost"`
	fn      func(ctx context.Context) error
}

func (c chore) Run(ctx context.Context) error {
	if c.fn != nil {
		return c.fn(ctx)
	}
	return nil
}

func choreUrgency(c chore) int64 { return int64(c.Urgency) }
func choreDue(c chore) time.Time { return c.Due }
func choreMinutes(c chore) int64 { return c.Minutes }
func choreIDs(cs []chore) (ids []int) {
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

// chorePool is what the tests need of the three rank Func pools.
type chorePool interface {
	Submit(ctx context.Context, t chore) error
	TrySubmit(t chore) error
	Shutdown(ctx context.Context) error
	ShutdownNow() []chore
	Stats() poolrt.Stats
}

// TestFuncPoolsTakeTaggedTypes: chore has none of the methods the
// method-based pools need, which is why the Func pools exist.
func TestFuncPoolsTakeTaggedTypes(t *testing.T) {
	var c any = chore{}
	_, ok := c.(templates.PriorityTask)
	assert.False(t, ok, "chore is a PriorityTask")
	_, ok = c.(templates.DeadlineTask)
	assert.False(t, ok, "chore is a DeadlineTask")
	_, ok = c.(templates.CostTask)
	assert.False(t, ok, "chore is a CostTask")
	var e any = entry{}
	_, ok = e.(templates.Keyed[string])
	assert.False(t, ok, "entry is Keyed")
}

// choreOrder holds a one-worker pool's worker busy, submits chores (by
// Submit and TrySubmit in turn), lets the worker go and returns the ids in
// the order the chores ran.
func choreOrder(t *testing.T, p chorePool, chores ...chore) []int {
	t.Helper()
	ctx := context.Background()
	fn, started, release := rankGate()
	require.NoError(t, p.Submit(ctx, chore{ID: 0, fn: fn}))
	<-started
	var mu sync.Mutex
	var ran []int
	for i, c := range chores {
		c.fn = func(context.Context) error {
			mu.Lock()
			ran = append(ran, c.ID)
			mu.Unlock()
			return nil
		}
		if i%2 == 0 {
			require.NoError(t, p.Submit(ctx, c))
		} else {
			require.NoError(t, p.TrySubmit(c))
		}
	}
	release()
	require.NoError(t, p.Shutdown(ctx))
	st := p.Stats()
	assert.EqualValues(t, len(chores)+1, st.Completed)
	assert.Equal(t, st.Submitted, st.Completed)
	return ran
}

// choreLeft holds a one-worker pool's worker busy, submits chores and
// returns the ids ShutdownNow hands back.
func choreLeft(t *testing.T, p chorePool, chores ...chore) []int {
	t.Helper()
	fn, started, _ := rankGate()
	require.NoError(t, p.Submit(context.Background(), chore{ID: 0, fn: fn}))
	<-started
	for _, c := range chores {
		require.NoError(t, p.TrySubmit(c))
	}
	left := choreIDs(p.ShutdownNow())
	assert.EqualValues(t, len(chores), p.Stats().Returned)
	return left
}

func TestPriorityFuncPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		urgency := func(c chore) int64 { calls.Add(1); return choreUrgency(c) }
		newPool := func() chorePool {
			p, err := templates.NewPriorityFuncPool(urgency, poolrt.Workers(1))
			require.NoError(t, err)
			t.Cleanup(func() { p.ShutdownNow() })
			return p
		}
		chores := []chore{{ID: 1, Urgency: 1}, {ID: 2, Urgency: 5}, {ID: 3, Urgency: 3}, {ID: 4, Urgency: 5}, {ID: 5, Urgency: 2}}
		assert.Equal(t, []int{2, 4, 3, 5, 1}, choreOrder(t, newPool(), chores...),
			"highest urgency first, submission order among equals")
		assert.EqualValues(t, len(chores)+1, calls.Load(), "the priority is read once per task, at submit")
		assert.Equal(t, []int{2, 4, 3, 5, 1}, choreLeft(t, newPool(), chores...), "ShutdownNow: in the order they would have run")
	})
}

func TestCostFuncPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		newPool := func() chorePool {
			p, err := templates.NewCostFuncPool(choreMinutes, poolrt.Workers(1))
			require.NoError(t, err)
			t.Cleanup(func() { p.ShutdownNow() })
			return p
		}
		chores := []chore{{ID: 1, Minutes: 30}, {ID: 2, Minutes: 10}, {ID: 3, Minutes: 20}, {ID: 4, Minutes: 10}, {ID: 5, Minutes: 5}}
		assert.Equal(t, []int{5, 2, 4, 3, 1}, choreOrder(t, newPool(), chores...),
			"cheapest first, submission order among equals")
		assert.Equal(t, []int{5, 2, 4, 3, 1}, choreLeft(t, newPool(), chores...), "ShutdownNow: in the order they would have run")
		assert.Equal(t, poolrt.ByCost, newPool().Stats().Priority.Kind)
	})
}

func TestDeadlineFuncPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		newPool := func() chorePool {
			p, err := templates.NewDeadlineFuncPool(choreDue, nil, poolrt.Workers(1))
			require.NoError(t, err)
			t.Cleanup(func() { p.ShutdownNow() })
			return p
		}
		t0 := time.Now()
		chores := []chore{
			{ID: 1, Due: t0.Add(50 * time.Millisecond)},
			{ID: 2}, // no deadline: last
			{ID: 3, Due: t0.Add(10 * time.Millisecond)},
			{ID: 4, Due: t0.Add(30 * time.Millisecond)},
			{ID: 5, Due: t0.Add(10 * time.Millisecond)},
		}
		assert.Equal(t, []int{3, 5, 4, 1, 2}, choreOrder(t, newPool(), chores...),
			"earliest deadline first, submission order among equals, no deadline last")
		assert.Equal(t, []int{3, 5, 4, 1, 2}, choreLeft(t, newPool(), chores...), "ShutdownNow: earliest deadline first")
	})
}

// TestDeadlineFuncPoolLate: late tasks meet the late policy, and a dropped
// task is reported with the deadline the function read.
func TestDeadlineFuncPoolLate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		due := time.Now().Add(-time.Second)

		var rec rankRecorder
		p, err := templates.NewDeadlineFuncPool(choreDue, nil, append(rec.opts(), poolrt.Workers(1), poolrt.OnLate(poolrt.DropLate))...)
		require.NoError(t, err)
		ran := false
		require.NoError(t, p.Submit(ctx, chore{ID: 7, Due: due, fn: func(context.Context) error { ran = true; return nil }}))
		require.NoError(t, p.Shutdown(ctx))
		assert.False(t, ran, "a late task is dropped under DropLate")
		require.Len(t, rec.errs, 1)
		var de *poolrt.DeadlineError
		require.ErrorAs(t, rec.errs[0], &de)
		assert.Equal(t, 7, de.Task.(chore).ID)
		assert.True(t, due.Equal(de.Deadline), "the deadline reported is the one the function read: %v, want %v", de.Deadline, due)
		assert.EqualValues(t, 1, p.Stats().Priority.Dropped)

		var handed []int
		q, err := templates.NewDeadlineFuncPool(choreDue, func(c chore) { handed = append(handed, c.ID) }, poolrt.Workers(1))
		require.NoError(t, err)
		require.NoError(t, q.Submit(ctx, chore{ID: 8, Due: due, fn: func(context.Context) error { ran = true; return nil }}))
		require.NoError(t, q.Shutdown(ctx))
		assert.False(t, ran, "a late task goes to the handler instead of running")
		assert.Equal(t, []int{8}, handed)
		assert.EqualValues(t, 1, q.Stats().Priority.HandedOff)
	})
}

// entry is a batch task with its key in a tagged field and no method at
// all.
type entry struct {
	Ledger string `poolgen:"batchkey"`
	ID     int
}

func entryLedger(e entry) string { return e.Ledger }

// entrySink records every batch its handler got, copied.
type entrySink struct {
	mu      sync.Mutex
	batches [][]entry
}

func (s *entrySink) handle(_ context.Context, b []entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, slices.Clone(b))
	return nil
}

func TestBatchFuncPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		var s entrySink
		var calls atomic.Int64
		key := func(e entry) string { calls.Add(1); return entryLedger(e) }
		p, err := templates.NewBatchFuncPool(key, s.handle, poolrt.Workers(1), poolrt.MaxBatch(2), poolrt.Linger(time.Hour))
		require.NoError(t, err)
		defer p.ShutdownNow()
		ledgers := []string{"a", "b", "a", "c", "b"}
		for i, l := range ledgers {
			if i%2 == 0 {
				require.NoError(t, p.Submit(ctx, entry{Ledger: l, ID: i}))
			} else {
				require.NoError(t, p.TrySubmit(entry{Ledger: l, ID: i}))
			}
		}
		assert.EqualValues(t, len(ledgers), calls.Load(), "the key is read once per task, at submit")
		synctest.Wait()
		s.mu.Lock()
		full := slices.Clone(s.batches)
		s.mu.Unlock()
		assert.ElementsMatch(t, [][]entry{{{"a", 0}, {"a", 2}}, {{"b", 1}, {"b", 4}}}, full, "full batches, one key each, handed over at once")
		require.NoError(t, p.Shutdown(ctx))
		assert.Len(t, s.batches, 3, "c's batch flushed at shutdown")
		assert.Equal(t, []entry{{"c", 3}}, s.batches[2])
		st := p.Stats()
		assert.EqualValues(t, 2, st.Batch.Full)
		assert.EqualValues(t, 1, st.Batch.Shutdown)
		assert.EqualValues(t, len(ledgers), st.Completed)
	})
}

func TestBatchFuncPoolShutdownNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var s entrySink
		p, err := templates.NewBatchFuncPool(entryLedger, s.handle, poolrt.MaxBatch(10), poolrt.Linger(time.Hour))
		require.NoError(t, err)
		for i := range 3 {
			require.NoError(t, p.TrySubmit(entry{Ledger: "a", ID: i}))
		}
		assert.Equal(t, []entry{{"a", 0}, {"a", 1}, {"a", 2}}, p.ShutdownNow(), "the open batch, never handed over")
		assert.Empty(t, s.batches)
	})
}

// TestFuncPoolsNilTask: pools of pointers refuse nil tasks without calling
// the accessor, which would dereference them.
func TestFuncPoolsNilTask(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	urgency := func(c *chore) int64 { return int64(c.Urgency) }
	due := func(c *chore) time.Time { return c.Due }
	minutes := func(c *chore) int64 { return c.Minutes }
	type pool interface {
		Submit(context.Context, *chore) error
		TrySubmit(*chore) error
		Shutdown(context.Context) error
	}
	pp, err := templates.NewPriorityFuncPool(urgency)
	require.NoError(t, err)
	dp, err := templates.NewDeadlineFuncPool(due, nil)
	require.NoError(t, err)
	cp, err := templates.NewCostFuncPool(minutes)
	require.NoError(t, err)
	bp, err := templates.NewBatchFuncPool(func(e *entry) string { return e.Ledger }, func(context.Context, []*entry) error { return nil })
	require.NoError(t, err)
	for _, p := range []pool{pp, dp, cp} {
		assert.ErrorIs(t, p.Submit(ctx, nil), poolrt.ErrNilTask)
		assert.ErrorIs(t, p.TrySubmit(nil), poolrt.ErrNilTask)
		require.NoError(t, p.Submit(ctx, &chore{}))
		require.NoError(t, p.Shutdown(ctx))
	}
	assert.ErrorIs(t, bp.Submit(ctx, nil), poolrt.ErrNilTask)
	assert.ErrorIs(t, bp.TrySubmit(nil), poolrt.ErrNilTask)
	require.NoError(t, bp.Submit(ctx, &entry{}))
	require.NoError(t, bp.Shutdown(ctx))
}

// TestFuncPoolsConfig: a nil accessor (or batch handler) and a bad option
// are *poolrt.ConfigErrors, and no pool is started.
func TestFuncPoolsConfig(t *testing.T) {
	defer goleak.VerifyNone(t)
	handle := func(context.Context, []entry) error { return nil }
	for _, c := range []struct {
		name, option string
		make         func() (any, error)
	}{
		{"priority nil", "priority", func() (any, error) { return templates.NewPriorityFuncPool[chore](nil) }},
		{"deadline nil", "deadline", func() (any, error) { return templates.NewDeadlineFuncPool[chore](nil, nil) }},
		{"cost nil", "cost", func() (any, error) { return templates.NewCostFuncPool[chore](nil) }},
		{"key nil", "key", func() (any, error) { return templates.NewBatchFuncPool[entry, string](nil, handle) }},
		{"handler nil", "handler", func() (any, error) { return templates.NewBatchFuncPool[entry, string](entryLedger, nil) }},
		{"priority option", "Workers(0)", func() (any, error) { return templates.NewPriorityFuncPool(choreUrgency, poolrt.Workers(0)) }},
		{"deadline option", "Aging(1s)", func() (any, error) { return templates.NewDeadlineFuncPool(choreDue, nil, poolrt.Aging(time.Second)) }},
		{"cost option", "OnLate(DropLate)", func() (any, error) {
			return templates.NewCostFuncPool(choreMinutes, poolrt.OnLate(poolrt.DropLate))
		}},
		{"batch option", "MaxBatch(0)", func() (any, error) {
			return templates.NewBatchFuncPool(entryLedger, handle, poolrt.MaxBatch(0))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := c.make()
			var ce *poolrt.ConfigError
			if assert.True(t, errors.As(err, &ce), "want a *poolrt.ConfigError, got %v", err) {
				assert.Equal(t, c.option, ce.Option)
			}
			assert.Nil(t, p)
		})
	}
}

// TestFuncPoolsZeroAllocs: reading the rank or key through a function
// allocates nothing either. The method-based rankJob serves here, its
// methods given as method expressions.
func TestFuncPoolsZeroAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts in -short mode")
	}
	defer goleak.VerifyNone(t)
	rankZeroAllocs(t, func(opts ...poolrt.Option) (*templates.PriorityFuncPool[rankJob], error) {
		return templates.NewPriorityFuncPool(rankJob.Priority, opts...)
	}, func(i int) rankJob { return rankJob{prio: int64(i % 7)} }, poolrt.Aging(time.Millisecond), poolrt.LatencySampling(2))
	rankZeroAllocs(t, func(opts ...poolrt.Option) (*templates.DeadlineFuncPool[rankJob], error) {
		return templates.NewDeadlineFuncPool(rankJob.Deadline, nil, opts...)
	}, func(i int) rankJob { return rankJob{due: time.Now().Add(time.Duration(i%7) * time.Hour)} })
	rankZeroAllocs(t, func(opts ...poolrt.Option) (*templates.CostFuncPool[rankJob], error) {
		return templates.NewCostFuncPool(rankJob.Cost, opts...)
	}, func(i int) rankJob { return rankJob{cost: int64(i % 7)} })

	var handled sync.WaitGroup
	p, err := templates.NewBatchFuncPool(entryLedger, func(_ context.Context, b []entry) error {
		handled.Add(-len(b))
		return nil
	}, poolrt.Workers(1), poolrt.MaxBatch(8), poolrt.Linger(time.Hour))
	require.NoError(t, err)
	defer p.ShutdownNow()
	ctx := context.Background()
	round := func() {
		handled.Add(16)
		for i := range 16 {
			if err := p.Submit(ctx, entry{Ledger: "k", ID: i}); err != nil {
				t.Error(err)
				handled.Done()
			}
		}
		handled.Wait()
	}
	for range 10 {
		round() // warm up: batches and map buckets exist
	}
	assert.Zero(t, testing.AllocsPerRun(100, round), "allocations per 16 tasks (2 batches)")
}
