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

// RankImpl describes a pool of the priority pattern (by priority,
// deadline or cost) for [RunRank], the ordering half of the suite: the
// contract half is [Run], over the same pool with tasks of equal rank.
type RankImpl[T any] struct {
	// Name names the row; it becomes the subtest's name.
	Name string
	// New creates a pool. Wrap a constructor with [Adapt].
	New func(opts ...poolrt.Option) (Pool[T], error)
	// Ranked makes task id of ctl with rank r, in [0, 1000): a task of a
	// lower rank must start before one of a higher rank (for a priority
	// pool a higher priority, for a deadline pool an earlier deadline in
	// the future, for a cost pool a lower cost). ID reads the id back.
	Ranked func(ctl *probe.Control, id, rank int) T
	ID     func(T) int

	// Kind is what the pool orders by. The aging tests run over
	// poolrt.ByPriority and poolrt.ByCost pools, the late-task tests over
	// poolrt.ByDeadline pools; the zero value is ByPriority.
	Kind poolrt.RankKind
	// Aging is the aging period New sets itself with poolrt.Aging, or 0 if
	// it sets none: the aging tests then turn aging on themselves, and
	// check too that without it their scenario starves the worst task.
	Aging time.Duration
	// Due makes task id of ctl with deadline due (the zero time.Time: no
	// deadline), for the late-task tests. Deadline pools only.
	Due func(ctl *probe.Control, id int, due time.Time) T
}

// RunRank runs the ordering tests over impl, as a subtest named impl.Name.
func RunRank[T any](t *testing.T, impl RankImpl[T]) {
	t.Helper()
	if impl.Name == "" || impl.New == nil || impl.Ranked == nil || impl.ID == nil {
		t.Fatalf("conformance: RankImpl %q needs Name, New, Ranked and ID", impl.Name)
	}
	s := &rankSuite[T]{RankImpl: impl}
	runTests(t, impl.Name, s, []namedTest[*rankSuite[T]]{
		{"StrictOrder", testRankStrictOrder[T]},
		{"StrictOrderSaturated", testRankStrictOrderSaturated[T]},
		{"FIFOAmongEquals", testRankFIFOAmongEquals[T]},
		{"NoInversion", testRankNoInversion[T]},
		{"ShutdownNowOrder", testRankShutdownNowOrder[T]},
		{"BandTotals", testRankBandTotals[T]},
		{"Shed", testRankShed[T]},
		{"Admission", testRankAdmission[T]},
		{"AdmissionCancel", testRankAdmissionCancel[T]},
		{"AgingBound", testRankAgingBound[T]},
		{"AgingBlocked", testRankAgingBlocked[T]},
		{"DropLate", testRankDropLate[T]},
		{"RunLate", testRankRunLate[T]},
		{"RetryOrder", testRankRetryOrder[T]},
	})
}

type rankSuite[T any] struct {
	RankImpl[T]
}

func (s *rankSuite[T]) start(t *testing.T, opts ...poolrt.Option) Pool[T] {
	t.Helper()
	p, err := s.New(opts...)
	require.NoError(t, err, "New(%v)", opts)
	require.NotNil(t, p)
	t.Cleanup(func() { p.ShutdownNow() })
	return p
}

// occupy submits a task of rank r (which the caller set to Block or Hold)
// and waits for it to start on a worker of its own.
func (s *rankSuite[T]) occupy(t *testing.T, p Pool[T], ctl *probe.Control, id, r int) {
	t.Helper()
	require.NoError(t, p.Submit(context.Background(), s.Ranked(ctl, id, r)))
	require.Equal(t, id, awaitStarted(t, ctl), "the task that started")
}

// rankLevels returns n pseudo-random rankLevels in [0, levels), the same every run.
func rankLevels(n, levels int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 0))
	out := make([]int, n)
	for i := range out {
		out[i] = rng.IntN(levels)
	}
	return out
}

// rankOrder returns ids first, first+1, ... sorted by rank, in
// submission order among equal rankLevels: the order a strict pool runs them.
func rankOrder(first int, rs []int) []int {
	ids := span(first, first+len(rs))
	slices.SortStableFunc(ids, func(a, b int) int { return rs[a-first] - rs[b-first] })
	return ids
}

// testRankStrictOrder: with the only worker busy, tasks of random rankLevels queue
// up; once it is free they start in rank order, submission order among
// equal rankLevels.
func testRankStrictOrder[T any](t *testing.T, s *rankSuite[T]) {
	bubble(t, func(t *testing.T) {
		const n = 300
		ctl := probe.New(n + 1)
		p := s.start(t, poolrt.Workers(1), poolrt.QueueSize(n))
		release := ctl.Hold(0)
		s.occupy(t, p, ctl, 0, 999)
		rs := rankLevels(n, 20, 1)
		for i, r := range rs {
			require.NoError(t, p.Submit(context.Background(), s.Ranked(ctl, 1+i, r)))
		}
		release()
		require.NoError(t, p.Shutdown(context.Background()))
		assert.Equal(t, append([]int{0}, rankOrder(1, rs)...), ctl.Order(), "start order")
	})
}

// testRankStrictOrderSaturated: with several workers, all busy, every worker
// that frees up takes the best queued task: each task takes 1 ms (fake
// time), so the tasks that start at the k-th millisecond are exactly the
// k-th group of workers tasks in rank order. A pool whose workers took
// tasks in batches, or from shards, would start some out of their group.
func testRankStrictOrderSaturated[T any](t *testing.T, s *rankSuite[T]) {
	bubble(t, func(t *testing.T) {
		const workers, n = 3, 240
		ctl := probe.New(workers + n)
		p := s.start(t, poolrt.Workers(workers), poolrt.QueueSize(n))
		for id := range workers {
			ctl.Set(id, probe.Block)
			s.occupy(t, p, ctl, id, 999)
		}
		var mu sync.Mutex
		startedAt := map[int]time.Duration{}
		t0 := time.Now()
		rs := rankLevels(n, 50, 2)
		for i, r := range rs {
			id := workers + i
			ctl.SetFunc(id, func(context.Context) error {
				mu.Lock()
				startedAt[id] = time.Since(t0)
				mu.Unlock()
				time.Sleep(time.Millisecond)
				return nil
			})
			require.NoError(t, p.Submit(context.Background(), s.Ranked(ctl, id, r)))
		}
		ctl.Release() // every worker frees up at t0
		require.NoError(t, p.Shutdown(context.Background()))

		want := rankOrder(workers, rs)
		require.Len(t, startedAt, n, "tasks run")
		for k := 0; k*workers < n; k++ {
			group := want[k*workers : min((k+1)*workers, n)]
			var got []int
			for id, at := range startedAt {
				if at == time.Duration(k)*time.Millisecond {
					got = append(got, id)
				}
			}
			if !assert.ElementsMatch(t, group, got, "tasks started at %d ms", k) {
				return
			}
		}
	})
}

// testRankFIFOAmongEquals: tasks of equal rank start in submission order, even
// when tasks of other rankLevels come between them.
func testRankFIFOAmongEquals[T any](t *testing.T, s *rankSuite[T]) {
	bubble(t, func(t *testing.T) {
		const n = 100
		ctl := probe.New(n + 1)
		p := s.start(t, poolrt.Workers(1), poolrt.QueueSize(n))
		release := ctl.Hold(0)
		s.occupy(t, p, ctl, 0, 999)
		var a, b []int
		for id := 1; id <= n; id++ {
			r := 5
			if id%3 == 0 {
				r = 7
				b = append(b, id)
			} else {
				a = append(a, id)
			}
			require.NoError(t, p.Submit(context.Background(), s.Ranked(ctl, id, r)))
		}
		release()
		require.NoError(t, p.Shutdown(context.Background()))
		assert.Equal(t, append(append([]int{0}, a...), b...), ctl.Order(), "start order")
	})
}

// testRankNoInversion: a low-ranked task never keeps a higher one from a
// worker. A task submitted behind a queue of low-ranked tasks starts on
// the next worker that frees up, while a low-ranked task still runs on
// another worker; and with a worker idle it starts at once.
func testRankNoInversion[T any](t *testing.T, s *rankSuite[T]) {
	bubble(t, func(t *testing.T) {
		const low, high = 900, 1
		ctl := probe.New(16)
		p := s.start(t, poolrt.Workers(2), poolrt.QueueSize(16))
		ctl.Set(0, probe.Block) // a long low-ranked task: runs to the end of the test
		s.occupy(t, p, ctl, 0, low)
		release1 := ctl.Hold(1)
		s.occupy(t, p, ctl, 1, low)
		for id := 2; id < 8; id++ {
			require.NoError(t, p.Submit(context.Background(), s.Ranked(ctl, id, low)))
		}
		release9 := ctl.Hold(9)
		require.NoError(t, p.Submit(context.Background(), s.Ranked(ctl, 9, high)))
		release1()
		assert.Equal(t, 9, awaitStarted(t, ctl), "the task that started when a worker freed up")
		assert.Equal(t, []int{0, 1, 9}, ctl.Order(), "start order")

		// The same worker frees up again and runs the queued low-ranked
		// tasks; then, with it idle, a high-ranked task starts at once
		// although a low-ranked one still runs.
		release9()
		synctest.Wait()
		assertRuns(t, ctl, 1, span(2, 8)...)
		release10 := ctl.Hold(10)
		require.NoError(t, p.Submit(context.Background(), s.Ranked(ctl, 10, high)))
		assert.Equal(t, 10, awaitStarted(t, ctl), "the task submitted to an idle worker")
		assert.Equal(t, 2, ctl.Total()-ctl.Ended(), "tasks running: the low-ranked task 0 and task 10")
		release10()
		ctl.Release()
		require.NoError(t, p.Shutdown(context.Background()))
	})
}

// testRankShutdownNowOrder: ShutdownNow returns the tasks that never started
// in the order they would have run.
func testRankShutdownNowOrder[T any](t *testing.T, s *rankSuite[T]) {
	bubble(t, func(t *testing.T) {
		const n = 100
		ctl := probe.New(n + 1)
		p := s.start(t, poolrt.Workers(1), poolrt.QueueSize(n))
		ctl.Set(0, probe.Block)
		s.occupy(t, p, ctl, 0, 999)
		rs := rankLevels(n, 10, 3)
		for i, r := range rs {
			require.NoError(t, p.Submit(context.Background(), s.Ranked(ctl, 1+i, r)))
		}
		assert.Equal(t, rankOrder(1, rs), s.ids(p.ShutdownNow()), "tasks returned")
		assertRuns(t, ctl, 0, span(1, n+1)...)
	})
}

func (s *rankSuite[T]) ids(tasks []T) []int {
	out := make([]int, len(tasks))
	for i, task := range tasks {
		out[i] = s.ID(task)
	}
	return out
}

// testRankBandTotals: the Priority section of Stats accounts for every queued
// task once the pool has stopped, band by band and in total, and tasks
// run by callers are in no band.
func testRankBandTotals[T any](t *testing.T, s *rankSuite[T]) {
	bubble(t, func(t *testing.T) {
		const n, blocker = 40, 25
		ctl := probe.New(n + 2)
		p := s.start(t, poolrt.Workers(1), poolrt.QueueSize(n), poolrt.OnFull(poolrt.CallerRuns))
		release := ctl.Hold(0)
		s.occupy(t, p, ctl, 0, 0)
		for id := 1; id <= n; id++ {
			if id%9 == 0 {
				ctl.Set(id, probe.Panic)
			}
			require.NoError(t, p.Submit(context.Background(), s.Ranked(ctl, id, id*20)))
		}
		require.NoError(t, p.Submit(context.Background(), s.Ranked(ctl, n+1, 0)), "Submit to a full queue under CallerRuns")
		ctl.Set(blocker, probe.Block)
		release() // tasks 1..blocker run, in rank order; the blocker blocks
		require.Equal(t, blocker, awaitStarted(t, ctl), "the blocking task")
		returned := s.ids(p.ShutdownNow())
		assert.Equal(t, span(blocker+1, n+1), returned, "tasks returned")

		st := p.Stats()
		require.NotNil(t, st.Priority, "Stats.Priority")
		var sub, done, pan, ret uint64
		for i, b := range st.Priority.Bands {
			assert.Equal(t, b.Submitted, b.Completed+b.Panicked+b.Returned, "band %d: Submitted = Completed + Panicked + Returned", i)
			assert.LessOrEqual(t, b.Lo, b.Hi, "band %d: Lo ≤ Hi", i)
			sub, done, pan, ret = sub+b.Submitted, done+b.Completed, pan+b.Panicked, ret+b.Returned
		}
		assert.Equal(t, uint64(1+n), sub, "queued tasks over the bands")
		assert.Equal(t, uint64(1), st.CallerRuns, "CallerRuns")
		assert.Equal(t, st.Submitted-st.CallerRuns, sub, "Submitted less CallerRuns")
		assert.Equal(t, uint64(n-blocker), ret, "returned tasks over the bands")
		assert.Equal(t, st.Returned, ret, "Returned")
		assert.Equal(t, uint64(2), pan, "panicked tasks over the bands (9 and 18)")
		assert.Equal(t, st.Panicked, pan, "Panicked")
		assert.Equal(t, st.Completed-1, done, "completed tasks over the bands (less the caller's)")
		assert.Equal(t, uint64(1+blocker-2), done, "completed tasks over the bands")
	})
}

// testRankAdmission: submitters blocked on a full queue are admitted best
// rank first as slots free up, not in the order they blocked: a better
// task never waits behind a worse one to get into the queue.
func testRankAdmission[T any](t *testing.T, s *rankSuite[T]) {
	bubble(t, func(t *testing.T) {
		ctl := probe.New(6)
		p := s.start(t, poolrt.Workers(1), poolrt.QueueSize(1))
		release := ctl.Hold(0)
		s.occupy(t, p, ctl, 0, 500)
		require.NoError(t, p.Submit(context.Background(), s.Ranked(ctl, 1, 500))) // the queue is full
		errs := make(chan error, 4)
		for _, task := range []struct{ id, rank int }{{2, 900}, {3, 100}, {4, 500}, {5, 100}} {
			go func() { errs <- p.Submit(context.Background(), s.Ranked(ctl, task.id, task.rank)) }()
			synctest.Wait() // blocked, in this order
		}
		release()
		for range 4 {
			require.NoError(t, <-errs, "Submit of a blocked task")
		}
		require.NoError(t, p.Shutdown(context.Background()))
		assert.Equal(t, []int{0, 1, 3, 5, 4, 2}, ctl.Order(), "start order: the blocked tasks by rank, FIFO among equals")
	})
}

// testRankAdmissionCancel: a blocked submitter whose context ends leaves
// the line with its context's error, its task never runs, and the others
// are admitted as before.
func testRankAdmissionCancel[T any](t *testing.T, s *rankSuite[T]) {
	bubble(t, func(t *testing.T) {
		ctl := probe.New(5)
		p := s.start(t, poolrt.Workers(1), poolrt.QueueSize(1))
		release := ctl.Hold(0)
		s.occupy(t, p, ctl, 0, 500)
		require.NoError(t, p.Submit(context.Background(), s.Ranked(ctl, 1, 500)))
		ctx, cancel := context.WithCancel(context.Background())
		canceled, closed := make(chan error, 1), make(chan error, 1)
		go func() { canceled <- p.Submit(ctx, s.Ranked(ctl, 2, 100)) }()
		synctest.Wait()
		go func() { closed <- p.Submit(context.Background(), s.Ranked(ctl, 3, 200)) }()
		synctest.Wait()
		cancel()
		assert.ErrorIs(t, <-canceled, context.Canceled, "Submit whose context ended while blocked")
		release() // 1 runs; 3 is admitted
		synctest.Wait()
		require.NoError(t, <-closed, "Submit of the blocked task admitted after the canceled one left")
		require.NoError(t, p.Shutdown(context.Background()))
		assert.Equal(t, []int{0, 1, 3}, ctl.Order(), "start order")
		assertRuns(t, ctl, 0, 2)
		st := p.Stats()
		assert.Equal(t, uint64(3), st.Submitted, "Submitted: the canceled task was never accepted")
	})
}
