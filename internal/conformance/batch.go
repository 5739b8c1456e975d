package conformance

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// BatchImpl describes one batch pool implementation: [Run] checks it
// against the contract every pool keeps (through [BatchImpl.Impl], with
// batches of one), [RunBatch] against batching itself.
//
// The suite sees a batch through its tasks: the pool's handler must run
// every task of a batch it is handed, with the context it was given, as
// generated.RunProbes does. A batch's tasks start running when the batch
// is handed to the handler, and never otherwise.
type BatchImpl[T any] struct {
	Name string
	// New creates a pool. Wrap a constructor with [Adapt].
	New func(opts ...poolrt.Option) (Pool[T], error)
	// Task makes task id of ctl; ID reads the id back from a task.
	Task func(ctl *probe.Control, id int) T
	ID   func(T) int
	// KeyTask, for a pool that groups tasks by batch key, makes task id
	// of ctl with a key of its own for each key number (tasks of
	// different keys never share a batch). Nil means that the pool puts
	// every task in one group.
	KeyTask func(ctl *probe.Control, id, key int) T
}

// Impl returns the row that runs the general suite over the batch pool
// with poolrt.MaxBatch(1): each batch is one task, so every per-task
// expectation of the suite (exactly once, panics and errors per task,
// order) applies.
func (b BatchImpl[T]) Impl() Impl[T] {
	return Impl[T]{
		Name:    b.Name,
		New:     b.New,
		Task:    b.Task,
		ID:      b.ID,
		Pattern: Batch,
		Options: []poolrt.Option{poolrt.MaxBatch(1)},
	}
}

// RunBatch runs the batch suite over impl, as a subtest named impl.Name.
// Its tests run under testing/synctest.
func RunBatch[T any](t *testing.T, impl BatchImpl[T]) {
	t.Helper()
	if impl.Name == "" || impl.New == nil || impl.Task == nil || impl.ID == nil {
		t.Fatalf("conformance: BatchImpl %q needs Name, New, Task and ID", impl.Name)
	}
	s := &batchSuite[T]{suite[T]{Impl: impl.Impl()}, impl.KeyTask}
	runTests(t, impl.Name, s, batchCases[T]())
}

type batchCase[T any] = namedTest[*batchSuite[T]]

// batchCases lists the tests of the batch suite.
func batchCases[T any]() []batchCase[T] {
	return []batchCase[T]{
		{"FlushOnLinger", testFlushOnLinger[T]},
		{"ShutdownNowOpenBatches", testShutdownNowOpenBatches[T]},
		{"BatchRetry", testBatchRetry[T]},
	}
}

// batchSuite is the general suite's helpers and the key-aware task
// maker. Its Impl's Options (MaxBatch(1)) are not applied: each test sets
// MaxBatch.
type batchSuite[T any] struct {
	suite[T]
	keyTask func(ctl *probe.Control, id, key int) T
}

// keyed reports whether the pool groups tasks by key.
func (s *batchSuite[T]) keyed() bool { return s.keyTask != nil }

// task makes task id with key number key; a pool with one group ignores
// key.
func (s *batchSuite[T]) task(ctl *probe.Control, id, key int) T {
	if s.keyTask != nil {
		return s.keyTask(ctl, id, key)
	}
	return s.Task(ctl, id)
}

// runClock records the fake time, since a start, at which each task ran.
type runClock struct {
	mu    sync.Mutex
	start time.Time
	at    map[int]time.Duration
}

// record makes task id of ctl record when it runs.
func (c *runClock) record(ctl *probe.Control, id int) {
	ctl.SetFunc(id, func(context.Context) error {
		c.mu.Lock()
		c.at[id] = time.Since(c.start)
		c.mu.Unlock()
		return nil
	})
}

// ranAt returns when task id ran, and whether it did.
func (c *runClock) ranAt(id int) (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.at[id]
	return d, ok
}

// sleepUntil sleeps until d has passed since the clock's start.
func (c *runClock) sleepUntil(d time.Duration) { time.Sleep(d - time.Since(c.start)) }

// testFlushOnLinger: a batch that does not fill up is handed to the
// handler when poolrt.Linger has passed since its first task arrived: not
// a nanosecond before, and at that very (fake) time, with every task of
// the batch, later ones included; Stats.Batch counts it as one batch
// flushed for Linger. Each batch's clock starts at its own first task: a
// batch opened later (another key's, or the same key's after a flush)
// waits its own Linger.
func testFlushOnLinger[T any](t *testing.T, s *batchSuite[T]) {
	bubble(t, func(t *testing.T) {
		const linger = 10 * time.Millisecond
		ctl := probe.New(8)
		clock := &runClock{start: time.Now(), at: map[int]time.Duration{}}
		for id := range ctl.Len() {
			clock.record(ctl, id)
		}
		p := s.start(t, 2, poolrt.MaxBatch(100), poolrt.Linger(linger))
		submit := func(id, key int) {
			t.Helper()
			require.NoError(t, p.Submit(context.Background(), s.task(ctl, id, key)), "Submit(%d)", id)
		}
		// notYet checks that no task of ids has run.
		notYet := func(ids ...int) {
			t.Helper()
			for _, id := range ids {
				if at, ran := clock.ranAt(id); ran {
					t.Errorf("task %d ran at %v, before its batch's linger time", id, at)
				}
			}
		}
		// flushedAt checks that every task of ids ran at exactly d.
		flushedAt := func(d time.Duration, ids ...int) {
			t.Helper()
			for _, id := range ids {
				at, ran := clock.ranAt(id)
				switch {
				case !ran:
					t.Errorf("task %d has not run at %v, its batch's linger time", id, d)
				case at != d:
					t.Errorf("task %d ran at %v, want %v (its batch's linger time)", id, at, d)
				}
			}
		}

		// Tasks 0, 1, 2 arrive 1 ms apart: one batch, due at linger.
		for id := range 3 {
			submit(id, 0)
			time.Sleep(time.Millisecond)
		}
		batches := uint64(1)
		if s.keyed() {
			// Another key's batch, opened at 5 ms: due at 5 ms + linger.
			clock.sleepUntil(5 * time.Millisecond)
			submit(3, 1)
			batches++
		}
		synctest.Wait()
		notYet(0, 1, 2, 3)
		st := p.Stats()
		require.NotNil(t, st.Batch, "Stats.Batch")
		assert.Equal(t, int(batches), st.Batch.Open, "Stats.Batch.Open while the batches linger")
		assert.Zero(t, st.Batch.Batches, "Stats.Batch.Batches before the linger time")

		clock.sleepUntil(linger - time.Nanosecond)
		synctest.Wait()
		notYet(0, 1, 2, 3)
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		flushedAt(linger, 0, 1, 2)
		notYet(3)
		st = p.Stats()
		assert.Equal(t, uint64(1), st.Batch.Batches, "Stats.Batch.Batches: tasks 0, 1, 2 in one batch")
		assert.Equal(t, uint64(1), st.Batch.Linger, "Stats.Batch.Linger")
		assert.Equal(t, uint64(1), st.Batch.Sizes[2], "Stats.Batch.Sizes[2] (batches of 3 or 4 tasks)")
		assert.Zero(t, st.Batch.Full+st.Batch.Idle+st.Batch.Shutdown, "batches flushed for another reason than Linger (%+v)", *st.Batch)

		if s.keyed() {
			clock.sleepUntil(5*time.Millisecond + linger - time.Nanosecond)
			synctest.Wait()
			notYet(3)
			time.Sleep(time.Nanosecond)
			synctest.Wait()
			flushedAt(5*time.Millisecond+linger, 3)
		}

		// Much later, task 4 opens a new batch of key 0: its clock starts
		// now, not at the first batch's first task.
		time.Sleep(time.Hour)
		opened := time.Since(clock.start)
		submit(4, 0)
		batches++
		time.Sleep(linger - time.Nanosecond)
		synctest.Wait()
		notYet(4)
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		flushedAt(opened+linger, 4)

		require.NoError(t, p.Shutdown(context.Background()))
		ran := []int{0, 1, 2, 4}
		if s.keyed() {
			ran = append(ran, 3)
		}
		assertRuns(t, ctl, 1, ran...)
		st = p.Stats()
		assertSettled(t, st)
		assert.Equal(t, batches, st.Batch.Batches, "Stats.Batch.Batches")
		assert.Equal(t, batches, st.Batch.Linger, "Stats.Batch.Linger: every batch was flushed for Linger")
		assert.Zero(t, st.Batch.Open, "Stats.Batch.Open after Shutdown")
	})
}

// testShutdownNowOpenBatches: ShutdownNow returns every accepted task
// that was not handed to the handler, oldest batch first: those of full
// batches waiting for a worker and those of open (lingering, not full)
// batches alike, never one of the batch the handler is running. Nothing
// is lost: handled + returned = accepted, each task either ran once or
// was returned, and Stats' counters (Submitted, Returned, Completed,
// Stats.Batch) agree.
func testShutdownNowOpenBatches[T any](t *testing.T, s *batchSuite[T]) {
	bubble(t, func(t *testing.T) {
		ctl := probe.New(8)
		p := s.start(t, 1, poolrt.MaxBatch(2), poolrt.Linger(time.Hour))
		submit := func(id, key int) {
			t.Helper()
			require.NoError(t, p.Submit(context.Background(), s.task(ctl, id, key)), "Submit(%d)", id)
		}
		// Batch {0, 1} fills up and is handed over; its handler blocks
		// in task 0, before task 1 ran.
		ctl.Set(0, probe.Block)
		submit(0, 0)
		submit(1, 0)
		require.Equal(t, 0, awaitStarted(t, ctl), "the blocking task that started")
		// Tasks 2 to 6, with keys 0, 0, 0, 1, 2: with keys, ready {2, 3}
		// and open {4}, {5}, {6}; in one group, ready {2, 3}, {4, 5} and
		// open {6}.
		keys := []int{2: 0, 3: 0, 4: 0, 5: 1, 6: 2}
		for id := 2; id < len(keys); id++ {
			submit(id, keys[id])
		}
		const accepted, handled = 7, 2
		wantOpen, wantReady := 1, 2
		if s.keyed() {
			wantOpen, wantReady = 3, 1
		}
		synctest.Wait()
		st := p.Stats()
		require.NotNil(t, st.Batch, "Stats.Batch")
		assert.Equal(t, wantOpen, st.Batch.Open, "Stats.Batch.Open before ShutdownNow")
		assert.Equal(t, wantReady, st.Batch.Ready, "Stats.Batch.Ready before ShutdownNow")
		assert.Equal(t, accepted-handled, st.QueueDepth, "QueueDepth before ShutdownNow")

		returned := s.ids(p.ShutdownNow())
		assertUnique(t, returned, "tasks returned by ShutdownNow")
		assert.ElementsMatch(t, span(handled, accepted), returned, "ShutdownNow returns every task not handed to the handler, open batches' included")
		assert.Equal(t, span(handled, accepted), returned, "ShutdownNow returns the tasks oldest batch first")
		assert.Nil(t, p.ShutdownNow(), "a second ShutdownNow returns nil")
		assertRuns(t, ctl, 1, span(0, handled)...)
		assertRuns(t, ctl, 0, span(handled, accepted)...)

		st = p.Stats()
		assertSettled(t, st)
		assert.Equal(t, uint64(accepted), st.Submitted, "Submitted")
		assert.Equal(t, uint64(accepted-handled), st.Returned, "Returned")
		assert.Equal(t, uint64(handled), st.Completed+st.Panicked, "Completed + Panicked: the tasks handed to the handler")
		assert.Equal(t, uint64(1), st.Batch.Batches, "Stats.Batch.Batches: only {0, 1} was handed over")
		assert.Equal(t, uint64(1), st.Batch.Full, "Stats.Batch.Full")
		assert.Zero(t, st.Batch.Open, "Stats.Batch.Open after ShutdownNow")
		assert.Zero(t, st.Batch.Ready, "Stats.Batch.Ready after ShutdownNow")
	})
}

// testBatchRetry: a batch whose handler fails fails each of its tasks;
// each is retried on its own, with its own attempts, joining a later
// batch of its key (with new tasks, or other retries), until it succeeds
// or has run MaxAttempts times and is dead-lettered, once. The handler's
// context answers the highest attempt of its batch. Shutdown, begun while
// retries wait, hands their batches over at once and runs them to their
// end; the counters add up.
func testBatchRetry[T any](t *testing.T, s *batchSuite[T]) {
	const n, attempts, keys = 60, 4, 3
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	bubble(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(uint64(seed), 4))
		var mu sync.Mutex
		ctl := probe.New(n)
		for id := range n {
			ctl.SetFunc(id, func(ctx context.Context) error {
				mu.Lock()
				defer mu.Unlock()
				if a := poolrt.Attempt(ctx); a < ctl.Runs(id) { // this run counted
					t.Errorf("task %d: run %d in a batch of attempt %d", id, ctl.Runs(id), a)
				}
				if rng.IntN(10) < 2 {
					return probe.ErrProbe // fails its whole batch
				}
				return nil
			})
		}
		var dl deadLetters[T]
		p := s.start(t, 2, dl.opt(&s.suite), poolrt.MaxBatch(4), poolrt.Linger(time.Millisecond), poolrt.QueueSize(n),
			poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: attempts, Initial: time.Millisecond, Max: 4 * time.Millisecond}))
		for id := range n {
			require.NoError(t, p.Submit(context.Background(), s.task(ctl, id, id%keys)))
			if id%8 == 7 {
				time.Sleep(time.Millisecond)
			}
		}
		require.NoError(t, p.Shutdown(context.Background()), "Shutdown runs the pending retries to their end")
		st := p.Stats()
		assertSettled(t, st)
		dead := dl.sorted()
		runs, recovered := 0, 0
		for id := range n {
			r := ctl.Runs(id)
			runs += r
			switch {
			case slices.Contains(dead, id):
				assert.Equal(t, attempts, r, "dead-lettered task %d ran", id)
				assert.Equal(t, attempts, dl.attempts[id], "dead-lettered task %d's attempts", id)
			case r < 1 || r > attempts:
				t.Errorf("task %d ran %d times", id, r)
			case r > 1:
				recovered++
			}
		}
		assert.Positive(t, st.Retries, "some batches failed (seed %d)", seed)
		assert.Equal(t, uint64(runs-n), st.Retries, "Retries: every run but the first of each task")
		assert.Equal(t, uint64(recovered), st.RetrySucceeded, "RetrySucceeded")
		assert.Equal(t, uint64(len(dead)), st.DeadLettered, "DeadLettered")
		assert.Equal(t, uint64(n-len(dead)), st.Completed, "Completed: each task that did not fail for good, once")
		assert.Zero(t, st.Failed, "a retried or dead-lettered task is not in Failed")
		assert.Equal(t, st.Batch.Batches, st.Batch.Full+st.Batch.Linger+st.Batch.Idle+st.Batch.Shutdown, "every batch flushed once")
	})
}
