package poolimpl

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// stealWait bounds every wait in these tests, so that a pool that loses a
// task fails the test instead of hanging it.
const stealWait = 20 * time.Second

// fibEnv is one Fibonacci computation by fork-join with continuation
// counters: fib(n) for n above the cutoff forks fib(n-1) and fib(n-2)
// and returns; the second of the two to finish adds the sum into the
// parent's node, and so on up to the root. No task ever waits.
//
// The internal nodes live in one slice, numbered in pre-order (a node's
// left child is the next index, its right child comes after the left
// child's whole subtree), so that the computation allocates nothing and
// every task's index is known: runs[i] counts the runs of node i's task,
// and leaves counts the leaf tasks.
type fibEnv struct {
	cutoff int
	size   []int32 // size[n]: internal nodes of fib(n)'s tree
	nodes  []fibNode
	spawn  func(ctx context.Context, t fibTask) error // Fork or Submit
	runs   []atomic.Int32
	leaves atomic.Int64
	result atomic.Int64
	done   chan struct{} // receives when the root is complete
	count  bool          // keep runs and leaves (tests; not benchmarks)
}

type fibNode struct {
	pending atomic.Int32 // children not finished yet
	sum     atomic.Int64
	parent  int32 // -1: the root
	_       [44]byte
}

// fibTask computes fib(n) into node parent; idx is its own node's index
// when n is above the cutoff.
type fibTask struct {
	n, idx, parent int32
	env            *fibEnv
}

func newFibEnv(n, cutoff int, count bool) *fibEnv {
	e := &fibEnv{cutoff: cutoff, size: make([]int32, n+1), count: count, done: make(chan struct{}, 1)}
	for k := range e.size {
		if k > cutoff {
			e.size[k] = 1 + e.size[k-1] + e.size[k-2]
		}
	}
	e.nodes = make([]fibNode, max(e.size[n], 1))
	if count {
		e.runs = make([]atomic.Int32, len(e.nodes))
	}
	return e
}

// start resets the env for one computation and returns its root task.
func (e *fibEnv) start(n int) fibTask {
	e.result.Store(0)
	return fibTask{n: int32(n), idx: 0, parent: -1, env: e}
}

func fibSeq(n int32) int64 {
	if n < 2 {
		return int64(n)
	}
	return fibSeq(n-1) + fibSeq(n-2)
}

func (t fibTask) Run(ctx context.Context) error {
	e := t.env
	if int(t.n) <= e.cutoff {
		if e.count {
			e.leaves.Add(1)
		}
		e.complete(t.parent, fibSeq(t.n))
		return nil
	}
	if e.count {
		e.runs[t.idx].Add(1)
	}
	nd := &e.nodes[t.idx]
	nd.sum.Store(0)
	nd.parent = t.parent
	nd.pending.Store(2) // publishes parent: children read it after their Add
	left := fibTask{n: t.n - 1, idx: t.idx + 1, parent: t.idx, env: e}
	right := fibTask{n: t.n - 2, idx: t.idx + 1 + e.size[t.n-1], parent: t.idx, env: e}
	if err := e.spawn(ctx, left); err != nil {
		return err
	}
	return e.spawn(ctx, right)
}

// complete adds v into node idx; the second child to arrive carries the
// node's sum up to its parent.
func (e *fibEnv) complete(idx int32, v int64) {
	for idx >= 0 {
		nd := &e.nodes[idx]
		nd.sum.Add(v)
		if nd.pending.Add(-1) != 0 {
			return
		}
		v, idx = nd.sum.Load(), nd.parent
	}
	e.result.Store(v)
	e.done <- struct{}{}
}

func (e *fibEnv) wait(t testing.TB) int64 {
	t.Helper()
	select {
	case <-e.done:
	case <-time.After(stealWait):
		t.Fatalf("fork-join computation did not finish within %v", stealWait)
	}
	return e.result.Load()
}

// leafCount returns the number of leaf tasks of fib(n)'s tree.
func (e *fibEnv) leafCount(n int) int64 {
	if n <= e.cutoff {
		return 1
	}
	return e.leafCount(n-1) + e.leafCount(n-2)
}

func newStealing[T runner](t testing.TB, opts ...poolrt.Option) *StealingPool[T] {
	t.Helper()
	p, err := NewStealingPool[T](opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.ShutdownNow() })
	return p
}

// awaitParked waits until n workers are parked, failing the test after
// stealWait.
func awaitParked(t *testing.T, s *Sleepers, n int) {
	t.Helper()
	deadline := time.Now().Add(stealWait)
	for s.Parked() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d workers parked", s.Parked(), n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// checkSettled checks the counters of a pool that has shut down: every
// accepted task accounted for once, and the stealing counters agree with
// the general ones.
func checkSettled(t *testing.T, st poolrt.Stats) {
	t.Helper()
	if st.Submitted != st.Completed+st.Panicked+st.Returned {
		t.Errorf("Submitted %d != Completed %d + Panicked %d + Returned %d", st.Submitted, st.Completed, st.Panicked, st.Returned)
	}
	if st.QueueDepth != 0 || st.Workers != 0 || st.Busy != 0 {
		t.Errorf("after shutdown: QueueDepth %d, Workers %d, Busy %d", st.QueueDepth, st.Workers, st.Busy)
	}
	s := st.Stealing
	if s == nil {
		t.Fatal("Stats.Stealing is nil")
	}
	started := s.Local + s.Injector + s.Stolen
	if ran := st.Completed + st.Panicked - st.CallerRuns - s.ForkedInline; started != ran {
		t.Errorf("tasks started by workers: Local %d + Injector %d + Stolen %d = %d, but Completed+Panicked-CallerRuns-ForkedInline = %d",
			s.Local, s.Injector, s.Stolen, started, ran)
	}
	if s.Steals > s.StealAttempts || s.StolenTasks < s.Steals || (s.Steals == 0) != (s.StolenTasks == 0) {
		t.Errorf("steals: %d attempts, %d steals, %d tasks stolen", s.StealAttempts, s.Steals, s.StolenTasks)
	}
	if s.Stolen > s.StolenTasks {
		t.Errorf("Stolen %d tasks run, but only %d stolen", s.Stolen, s.StolenTasks)
	}
	var sum poolrt.StealingWorkerStats
	for _, w := range s.Workers {
		sum.Local += w.Local
		sum.Injector += w.Injector
		sum.Stolen += w.Stolen
		sum.StealAttempts += w.StealAttempts
		sum.Steals += w.Steals
		sum.StolenTasks += w.StolenTasks
	}
	want := poolrt.StealingWorkerStats{Local: s.Local, Injector: s.Injector, Stolen: s.Stolen,
		StealAttempts: s.StealAttempts, Steals: s.Steals, StolenTasks: s.StolenTasks}
	if sum != want {
		t.Errorf("per-worker counters sum to %+v, totals are %+v", sum, want)
	}
}

// TestStealingFib: fork-join Fibonacci gives the right answer, runs every
// subtask exactly once, and the counters add up, for several worker and
// deque sizes (a deque of 2 sends most forks to the injector or inline).
func TestStealingFib(t *testing.T) {
	for _, c := range []struct{ workers, deque int }{{1, 256}, {2, 256}, {4, 256}, {3, 2}, {4, 1}} {
		t.Run(fmt.Sprintf("workers=%d,deque=%d", c.workers, c.deque), func(t *testing.T) {
			const n, cutoff = 24, 8
			p := newStealing[fibTask](t, poolrt.Workers(c.workers), poolrt.DequeSize(c.deque), poolrt.QueueSize(64))
			e := newFibEnv(n, cutoff, true)
			e.spawn = p.Fork
			for round := range 3 {
				e.leaves.Store(0)
				for i := range e.runs {
					e.runs[i].Store(0)
				}
				if err := p.Submit(context.Background(), e.start(n)); err != nil {
					t.Fatal(err)
				}
				if got, want := e.wait(t), fibSeq(n); got != want {
					t.Fatalf("round %d: fib(%d) = %d, want %d", round, n, got, want)
				}
				for i := range e.runs {
					if r := e.runs[i].Load(); r != 1 {
						t.Fatalf("round %d: internal task %d ran %d times", round, i, r)
					}
				}
				if got, want := e.leaves.Load(), e.leafCount(n); got != want {
					t.Fatalf("round %d: %d leaf tasks ran, want %d", round, got, want)
				}
			}
			if err := p.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			st := p.Stats()
			checkSettled(t, st)
			tasks := 3 * uint64(int64(len(e.runs))+e.leafCount(n))
			if st.Completed != tasks || st.Submitted != tasks {
				t.Errorf("Completed %d, Submitted %d; want %d", st.Completed, st.Submitted, tasks)
			}
			s := st.Stealing
			if forks := tasks - 3; s.Forked+s.ForkedToInjector+s.ForkedInline != forks {
				t.Errorf("Forked %d + ToInjector %d + Inline %d != %d forks", s.Forked, s.ForkedToInjector, s.ForkedInline, forks)
			}
			if c.deque >= 256 && (s.ForkedToInjector != 0 || s.ForkedInline != 0) {
				t.Errorf("with room in the deques, %d forks went to the injector and %d ran inline", s.ForkedToInjector, s.ForkedInline)
			}
			if c.deque <= 2 && s.ForkedToInjector+s.ForkedInline == 0 {
				t.Errorf("with deques of %d, no fork overflowed", c.deque)
			}
			t.Logf("%+v", *s)
		})
	}
}

// barrierTask: a root forks one spread task per worker; each spread task
// waits (bounded) until all of them have started, so each holds a worker
// of its own, and then forks leaves onto its own worker's deque.
type barrierTask struct {
	kind int // 0 root, 1 spread, 2 leaf
	env  *barrierEnv
}

type barrierEnv struct {
	pool      *StealingPool[barrierTask]
	workers   int
	leaves    int
	started   atomic.Int32
	timedOut  atomic.Bool
	ran       atomic.Int64
	forkedOn  []atomic.Int32 // spread tasks by the worker slot they ran on
	done      sync.WaitGroup
	forkErrs  atomic.Int32
	leafDelay time.Duration
}

func (b barrierTask) Run(ctx context.Context) error {
	e := b.env
	defer e.done.Done()
	switch b.kind {
	case 0:
		for range e.workers {
			e.done.Add(1)
			if e.pool.Fork(ctx, barrierTask{kind: 1, env: e}) != nil {
				e.forkErrs.Add(1)
			}
		}
	case 1:
		e.started.Add(1)
		deadline := time.Now().Add(stealWait)
		for int(e.started.Load()) < e.workers {
			if time.Now().After(deadline) {
				e.timedOut.Store(true)
				break
			}
			runtime.Gosched()
		}
		w := ctx.Value(stealKey{}).(*StealWorker[barrierTask])
		e.forkedOn[w.id].Add(1)
		for range e.leaves {
			e.done.Add(1)
			if e.pool.Fork(ctx, barrierTask{kind: 2, env: e}) != nil {
				e.forkErrs.Add(1)
			}
		}
	case 2:
		if e.leafDelay > 0 {
			time.Sleep(e.leafDelay)
		}
		e.ran.Add(1)
	}
	return nil
}

// TestStealingAllDequesUsed: with one task per worker each forking onto
// its own deque, every worker's deque takes forks.
func TestStealingAllDequesUsed(t *testing.T) {
	const workers, leaves = 4, 200
	p := newStealing[barrierTask](t, poolrt.Workers(workers))
	e := &barrierEnv{pool: p, workers: workers, leaves: leaves, forkedOn: make([]atomic.Int32, workers)}
	e.done.Add(1)
	if err := p.Submit(context.Background(), barrierTask{kind: 0, env: e}); err != nil {
		t.Fatal(err)
	}
	e.done.Wait()
	if e.timedOut.Load() {
		t.Fatal("the spread tasks never ran on every worker at once")
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.forkErrs.Load() != 0 || e.ran.Load() != workers*leaves {
		t.Fatalf("%d fork errors, %d leaves ran; want 0, %d", e.forkErrs.Load(), e.ran.Load(), workers*leaves)
	}
	st := p.Stats()
	checkSettled(t, st)
	// Every fork went onto the forking worker's deque (none ran inline
	// or went to the injector), and each worker forked leaves: so every
	// deque took forks.
	if s := st.Stealing; s.Forked != workers*(leaves+1) || s.ForkedInline != 0 || s.ForkedToInjector != 0 {
		t.Errorf("Forked %d, inline %d, to the injector %d; want %d, 0, 0", s.Forked, s.ForkedInline, s.ForkedToInjector, workers*(leaves+1))
	}
	for id := range workers {
		if n := e.forkedOn[id].Load(); n != 1 {
			t.Errorf("worker %d ran %d spread tasks, want 1", id, n)
		}
	}
	t.Logf("%+v", *st.Stealing)
}

// TestStealingStealsFromBusy: one task forks many slow leaves onto its
// worker's deque; the other workers, idle, must steal and run most of
// them.
func TestStealingStealsFromBusy(t *testing.T) {
	const workers, leaves = 3, 60
	p := newStealing[barrierTask](t, poolrt.Workers(workers))
	e := &barrierEnv{pool: p, workers: 1, leaves: leaves, forkedOn: make([]atomic.Int32, workers), leafDelay: time.Millisecond}
	e.done.Add(1)
	if err := p.Submit(context.Background(), barrierTask{kind: 0, env: e}); err != nil {
		t.Fatal(err)
	}
	e.done.Wait()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	checkSettled(t, st)
	busy := 0
	for _, w := range st.Stealing.Workers {
		if w.Local+w.Injector+w.Stolen > 0 {
			busy++
		}
	}
	if st.Stealing.Stolen == 0 || busy < 2 {
		t.Errorf("%d tasks stolen, %d workers ran tasks: the idle workers did not steal", st.Stealing.Stolen, busy)
	}
	t.Logf("%+v", *st.Stealing)
}

// chainTask forks its successor until the chain is len long; the first
// link also submits a task from inside the pool, which must not wait for
// the whole chain (fairness towards the injector).
type chainTask struct {
	k   int
	env *chainEnv
}

type chainEnv struct {
	pool      *StealingPool[chainTask]
	len       int
	links     atomic.Int64
	outsideAt atomic.Int64 // links run before the submitted task ran
	done      chan struct{}
}

func (c chainTask) Run(ctx context.Context) error {
	e := c.env
	switch {
	case c.k < 0: // the submitted task
		e.outsideAt.Store(e.links.Load())
		return nil
	case c.k == 0:
		if err := e.pool.TrySubmit(chainTask{k: -1, env: e}); err != nil {
			return err
		}
	}
	if e.links.Add(1) == int64(e.len) {
		close(e.done)
		return nil
	}
	return e.pool.Fork(ctx, chainTask{k: c.k + 1, env: e})
}

// TestStealingFairness: with one worker busy with an endless chain of
// forks, a submitted task still runs within a fairness period.
func TestStealingFairness(t *testing.T) {
	p := newStealing[chainTask](t, poolrt.Workers(1))
	e := &chainEnv{pool: p, len: 10 * fairnessPeriod, done: make(chan struct{})}
	e.outsideAt.Store(-1)
	if err := p.Submit(context.Background(), chainTask{env: e}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.done:
	case <-time.After(stealWait):
		t.Fatal("the chain did not finish")
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	at := e.outsideAt.Load()
	if at < 0 || at > fairnessPeriod+1 {
		t.Fatalf("the submitted task ran after %d links of the chain, want at most %d", at, fairnessPeriod+1)
	}
	checkSettled(t, p.Stats())
}

// treeTask is a tree of forks in which every task has an id; it records
// its run and forks its children until depth runs out.
type treeTask struct {
	id, depth int32
	env       *treeEnv
}

type treeEnv struct {
	pool    *StealingPool[treeTask]
	fanout  int32
	runs    []atomic.Int32
	closed  atomic.Int64 // forks refused with ErrClosed
	otherEr atomic.Int64
	spin    int
	onRun   func(id int32)
}

func (e *treeEnv) size(depth int32) int32 {
	n, level := int32(0), int32(1)
	for range depth + 1 {
		n += level
		level *= e.fanout
	}
	return n
}

func (tt treeTask) Run(ctx context.Context) error {
	e := tt.env
	e.runs[tt.id].Add(1)
	if e.onRun != nil {
		e.onRun(tt.id)
	}
	for i := 0; i < e.spin; i++ {
		runtime.Gosched()
	}
	if tt.depth == 0 {
		return nil
	}
	for c := range e.fanout {
		child := treeTask{id: tt.id*e.fanout + 1 + c, depth: tt.depth - 1, env: e}
		switch err := e.pool.Fork(ctx, child); {
		case err == nil:
		case errors.Is(err, poolrt.ErrClosed):
			e.closed.Add(1)
		default:
			e.otherEr.Add(1)
		}
	}
	return nil
}

// TestStealingShutdownDuringForkStorm: Shutdown while tasks fork: it
// waits for every subtask, including those forked while it drains, and
// none is refused.
func TestStealingShutdownDuringForkStorm(t *testing.T) {
	for _, c := range []struct{ workers, deque int }{{2, 256}, {4, 4}, {1, 2}} {
		t.Run(fmt.Sprintf("workers=%d,deque=%d", c.workers, c.deque), func(t *testing.T) {
			p := newStealing[treeTask](t, poolrt.Workers(c.workers), poolrt.DequeSize(c.deque), poolrt.QueueSize(16))
			e := &treeEnv{pool: p, fanout: 4, spin: 2}
			const depth = 6
			e.runs = make([]atomic.Int32, e.size(depth))
			started := make(chan struct{})
			var once sync.Once
			var ran atomic.Int32
			e.onRun = func(int32) {
				if ran.Add(1) == int32(len(e.runs)/4) {
					once.Do(func() { close(started) })
				}
			}
			if err := p.Submit(context.Background(), treeTask{id: 0, depth: depth, env: e}); err != nil {
				t.Fatal(err)
			}
			<-started // the storm is on
			ctx, cancel := context.WithTimeout(context.Background(), stealWait)
			defer cancel()
			if err := p.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			for id := range e.runs {
				if n := e.runs[id].Load(); n != 1 {
					t.Fatalf("task %d ran %d times", id, n)
				}
			}
			if e.closed.Load() != 0 || e.otherEr.Load() != 0 {
				t.Fatalf("forks refused while draining: %d ErrClosed, %d other", e.closed.Load(), e.otherEr.Load())
			}
			st := p.Stats()
			checkSettled(t, st)
			if st.Completed != uint64(len(e.runs)) {
				t.Fatalf("Completed %d, want %d", st.Completed, len(e.runs))
			}
			// The pool is drained: forks are refused now.
			w := p.workers[0]
			if err := p.Fork(w.ctxi, treeTask{env: e}); !errors.Is(err, poolrt.ErrClosed) {
				t.Fatalf("Fork after Shutdown: %v, want ErrClosed", err)
			}
		})
	}
}

// TestStealingShutdownNowDuringForkStorm: ShutdownNow while tasks fork.
// Every task either ran exactly once or was handed back, never both; the
// forks refused are exactly those whose tasks neither ran nor came back.
func TestStealingShutdownNowDuringForkStorm(t *testing.T) {
	for _, c := range []struct{ workers, deque int }{{2, 256}, {4, 8}, {3, 2}} {
		t.Run(fmt.Sprintf("workers=%d,deque=%d", c.workers, c.deque), func(t *testing.T) {
			p := newStealing[treeTask](t, poolrt.Workers(c.workers), poolrt.DequeSize(c.deque), poolrt.QueueSize(16))
			e := &treeEnv{pool: p, fanout: 3, spin: 1}
			const depth = 8
			e.runs = make([]atomic.Int32, e.size(depth))
			started := make(chan struct{})
			var once sync.Once
			var ran atomic.Int32
			e.onRun = func(int32) {
				if ran.Add(1) == int32(len(e.runs)/4) {
					once.Do(func() { close(started) })
				}
			}
			if err := p.Submit(context.Background(), treeTask{id: 0, depth: depth, env: e}); err != nil {
				t.Fatal(err)
			}
			<-started
			returned := p.ShutdownNow()
			back := make([]int, len(e.runs))
			for _, task := range returned {
				back[task.id]++
			}
			// Every child of a task that ran was forked: it ran once, was
			// handed back, or its Fork was refused; count the refusals.
			refused := 0
			first, levelEnd := int32(0), int32(1) // ids of the current level
			for level := range int32(depth + 1) {
				for id := first; id < levelEnd; id++ {
					runs := int(e.runs[id].Load())
					if runs+back[id] > 1 {
						t.Fatalf("task %d ran %d times and was returned %d times", id, runs, back[id])
					}
					if runs == 0 || level == depth {
						continue
					}
					for c := range e.fanout {
						child := id*e.fanout + 1 + c
						if e.runs[child].Load() == 0 && back[child] == 0 {
							refused++
						}
					}
				}
				first, levelEnd = levelEnd, levelEnd+(levelEnd-first)*e.fanout
			}
			if e.otherEr.Load() != 0 || int64(refused) != e.closed.Load() {
				t.Fatalf("%d children neither ran nor came back, %d forks refused with ErrClosed, %d with other errors",
					refused, e.closed.Load(), e.otherEr.Load())
			}
			st := p.Stats()
			checkSettled(t, st)
			if st.Returned != uint64(len(returned)) {
				t.Fatalf("Returned %d, handed back %d", st.Returned, len(returned))
			}
			if err := p.Fork(p.workers[0].ctxi, treeTask{env: e}); !errors.Is(err, poolrt.ErrClosed) {
				t.Fatalf("Fork after ShutdownNow: %v, want ErrClosed", err)
			}
			t.Logf("%d ran, %d returned, %d forks refused", st.Completed, len(returned), e.closed.Load())
		})
	}
}

// forkNTask forks n leaves when n > 0; leaves count their runs. A leaf
// whose id is panicAt panics.
type forkNTask struct {
	id, n int
	env   *forkNEnv
}

type forkNEnv struct {
	pool    *StealingPool[forkNTask]
	runs    []atomic.Int32
	panicAt int
	ctx     func(ctx context.Context) context.Context // wraps the task's context before Fork
	errs    []error
}

func (f forkNTask) Run(ctx context.Context) error {
	e := f.env
	e.runs[f.id].Add(1)
	if f.id == e.panicAt {
		panic("forkNTask: boom")
	}
	if e.ctx != nil {
		ctx = e.ctx(ctx)
	}
	for i := 1; i <= f.n; i++ {
		e.errs[i] = e.pool.Fork(ctx, forkNTask{id: f.id + i, env: e})
	}
	return nil
}

// waitRan waits until n tasks have completed or panicked.
func waitRan[T runner](t *testing.T, p *StealingPool[T], n uint64) {
	t.Helper()
	deadline := time.Now().Add(stealWait)
	for {
		st := p.Stats()
		if st.Completed+st.Panicked >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d tasks ran within %v", st.Completed+st.Panicked, n, stealWait)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func newForkN(p *StealingPool[forkNTask], n int) *forkNEnv {
	return &forkNEnv{pool: p, runs: make([]atomic.Int32, n+1), errs: make([]error, n+1), panicAt: -1}
}

// TestStealingForkOverflow: with one worker, a deque of 2 and an injector
// of 2, a task's 10 forks go 2 to the deque, 2 to the injector and 6 run
// inline, before Fork returns; all run once and are counted.
func TestStealingForkOverflow(t *testing.T) {
	p := newStealing[forkNTask](t, poolrt.Workers(1), poolrt.DequeSize(2), poolrt.QueueSize(2))
	e := newForkN(p, 10)
	if err := p.Submit(context.Background(), forkNTask{n: 10, env: e}); err != nil {
		t.Fatal(err)
	}
	waitRan(t, p, 11) // before Shutdown, which closes the injector to forks
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range e.runs {
		if n := e.runs[i].Load(); n != 1 {
			t.Fatalf("task %d ran %d times", i, n)
		}
		if e.errs[i] != nil {
			t.Fatalf("Fork %d: %v", i, e.errs[i])
		}
	}
	st := p.Stats()
	checkSettled(t, st)
	s := st.Stealing
	if s.Forked != 2 || s.ForkedToInjector != 2 || s.ForkedInline != 6 {
		t.Fatalf("Forked %d, ToInjector %d, Inline %d; want 2, 2, 6", s.Forked, s.ForkedToInjector, s.ForkedInline)
	}
	if st.Submitted != 11 || st.Completed != 11 || st.CallerRuns != 0 {
		t.Fatalf("Submitted %d, Completed %d, CallerRuns %d; want 11, 11, 0", st.Submitted, st.Completed, st.CallerRuns)
	}
}

// TestStealingForkGateBusy: while another goroutine holds the deque's
// gate (as a goroutine of a task does while it forks with the task's
// context), forks go to the injector, and to the caller when that is
// full; every one runs once.
func TestStealingForkGateBusy(t *testing.T) {
	p := newStealing[forkNTask](t, poolrt.Workers(1), poolrt.QueueSize(3))
	w := p.workers[0]
	if !w.dq.hold() {
		t.Fatal("gate closed")
	}
	released := false
	t.Cleanup(func() { // before ShutdownNow, which waits for the gate
		if !released {
			w.dq.release()
		}
	})
	e := newForkN(p, 5)
	if err := p.Submit(context.Background(), forkNTask{n: 5, env: e}); err != nil {
		t.Fatal(err)
	}
	// The root forked 3 into the injector and ran 2; without its gate
	// the worker takes the injector's tasks one at a time.
	waitRan(t, p, 6)
	w.dq.release()
	released = true
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range e.runs {
		if n := e.runs[i].Load(); n != 1 || e.errs[i] != nil {
			t.Fatalf("task %d ran %d times (Fork: %v)", i, n, e.errs[i])
		}
	}
	st := p.Stats()
	checkSettled(t, st)
	if s := st.Stealing; s.Forked != 0 || s.ForkedToInjector != 3 || s.ForkedInline != 2 {
		t.Fatalf("Forked %d, ToInjector %d, Inline %d; want 0, 3, 2", s.Forked, s.ForkedToInjector, s.ForkedInline)
	}
}

// TestStealingForkContexts: Fork finds the worker through derived
// contexts; with a context from elsewhere (another pool's worker, or no
// pool) it is Submit.
func TestStealingForkContexts(t *testing.T) {
	type key struct{}
	wrappers := map[string]func(context.Context) context.Context{
		"WithValue": func(ctx context.Context) context.Context { return context.WithValue(ctx, key{}, 1) },
		"WithCancel": func(ctx context.Context) context.Context {
			c, cancel := context.WithCancel(ctx)
			t.Cleanup(cancel)
			return c
		},
		"Background": func(context.Context) context.Context { return context.Background() },
	}
	for name, wrap := range wrappers {
		t.Run(name, func(t *testing.T) {
			p := newStealing[forkNTask](t, poolrt.Workers(1))
			e := newForkN(p, 5)
			e.ctx = wrap
			if err := p.Submit(context.Background(), forkNTask{n: 5, env: e}); err != nil {
				t.Fatal(err)
			}
			waitRan(t, p, 6)
			for i, err := range e.errs {
				if err != nil {
					t.Fatalf("Fork %d: %v", i, err)
				}
			}
			if err := p.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			st := p.Stats()
			checkSettled(t, st)
			forked := st.Stealing.Forked
			if name == "Background" {
				if forked != 0 || st.Stealing.Injector != 6 {
					t.Fatalf("Fork with a foreign context: %d forked, %d from the injector; want 0, 6", forked, st.Stealing.Injector)
				}
			} else if forked != 5 {
				t.Fatalf("Fork through %s: %d forked, want 5", name, forked)
			}
		})
	}
	t.Run("OtherPool", func(t *testing.T) {
		a := newStealing[forkNTask](t, poolrt.Workers(1))
		b := newStealing[forkNTask](t, poolrt.Workers(1))
		e := newForkN(b, 3) // tasks run in a, fork into b
		if err := a.Submit(context.Background(), forkNTask{n: 3, env: e}); err != nil {
			t.Fatal(err)
		}
		waitRan(t, a, 1)
		waitRan(t, b, 3)
		if err := a.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := b.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		sa, sb := a.Stats(), b.Stats()
		if sb.Stealing.Forked != 0 || sb.Submitted != 3 || sb.Completed != 3 || sa.Completed != 1 {
			t.Fatalf("pool b: %d forked, %d submitted, %d completed; pool a completed %d", sb.Stealing.Forked, sb.Submitted, sb.Completed, sa.Completed)
		}
	})
}

// goForkTask starts goroutines that fork with its context, concurrently
// with each other and with the worker, and returns before they finish.
type goForkTask struct {
	id  int
	env *goForkEnv
}

type goForkEnv struct {
	pool       *StealingPool[goForkTask]
	goroutines int
	per        int
	runs       []atomic.Int32
	wg         sync.WaitGroup
	errs       atomic.Int32
}

func (g goForkTask) Run(ctx context.Context) error {
	e := g.env
	e.runs[g.id].Add(1)
	if g.id != 0 {
		return nil
	}
	for k := range e.goroutines {
		e.wg.Go(func() {
			for i := range e.per {
				id := 1 + k*e.per + i
				if err := e.pool.Fork(ctx, goForkTask{id: id, env: e}); err != nil {
					e.errs.Add(1)
				}
			}
		})
	}
	return nil
}

// TestStealingForkFromGoroutines: goroutines a task started fork with
// its context while the worker runs other tasks: the deque's gate keeps
// them from pushing at once, nothing is lost or run twice (run it with
// -race).
func TestStealingForkFromGoroutines(t *testing.T) {
	for _, workers := range []int{1, 3} {
		t.Run(fmt.Sprint("workers=", workers), func(t *testing.T) {
			p := newStealing[goForkTask](t, poolrt.Workers(workers), poolrt.DequeSize(8), poolrt.QueueSize(8))
			e := &goForkEnv{pool: p, goroutines: 4, per: 500}
			if stealRace {
				e.per = 100
			}
			e.runs = make([]atomic.Int32, 1+e.goroutines*e.per)
			if err := p.Submit(context.Background(), goForkTask{env: e}); err != nil {
				t.Fatal(err)
			}
			// Wait for the forking goroutines before shutting down:
			// afterwards their forks would be refused.
			deadline := time.Now().Add(stealWait)
			for p.Stats().Completed == 0 && time.Now().Before(deadline) {
				runtime.Gosched()
			}
			e.wg.Wait()
			if err := p.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if e.errs.Load() != 0 {
				t.Fatalf("%d forks failed", e.errs.Load())
			}
			for id := range e.runs {
				if n := e.runs[id].Load(); n != 1 {
					t.Fatalf("task %d ran %d times", id, n)
				}
			}
			st := p.Stats()
			checkSettled(t, st)
			t.Logf("%+v", *st.Stealing)
		})
	}
}

// TestStealingPanicKeepsDeque: a forked subtask panics; its worker is
// replaced, and the replacement runs the rest of the deque. One worker,
// so the rest can only run if the new goroutine took the deque over.
func TestStealingPanicKeepsDeque(t *testing.T) {
	var mu sync.Mutex
	var pes []*poolrt.PanicError
	p := newStealing[forkNTask](t, poolrt.Workers(1), poolrt.OnPanic(func(pe *poolrt.PanicError) {
		mu.Lock()
		pes = append(pes, pe)
		mu.Unlock()
	}))
	e := newForkN(p, 8)
	e.panicAt = 8 // forked last, so popped first
	if err := p.Submit(context.Background(), forkNTask{n: 8, env: e}); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range e.runs {
		if n := e.runs[i].Load(); n != 1 {
			t.Fatalf("task %d ran %d times", i, n)
		}
	}
	st := p.Stats()
	checkSettled(t, st)
	if st.Panicked != 1 || st.Completed != 8 || st.Stealing.Local != 8 {
		t.Fatalf("Panicked %d, Completed %d, Local %d; want 1, 8, 8", st.Panicked, st.Completed, st.Stealing.Local)
	}
	if len(pes) != 1 || pes[0].Task.(forkNTask).id != 8 {
		t.Fatalf("panic reports: %v", pes)
	}
}

// TestStealingInlinePanic: a fork that runs inline and panics is
// recovered on the spot: counted, reported, and its parent goes on.
func TestStealingInlinePanic(t *testing.T) {
	var reports atomic.Int32
	p := newStealing[forkNTask](t, poolrt.Workers(1), poolrt.DequeSize(1), poolrt.QueueSize(1),
		poolrt.OnPanic(func(*poolrt.PanicError) { reports.Add(1) }))
	e := newForkN(p, 4)
	e.panicAt = 3 // 1 goes to the deque, 2 to the injector, 3 and 4 run inline
	if err := p.Submit(context.Background(), forkNTask{n: 4, env: e}); err != nil {
		t.Fatal(err)
	}
	waitRan(t, p, 5)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range e.runs {
		if n := e.runs[i].Load(); n != 1 {
			t.Fatalf("task %d ran %d times", i, n)
		}
	}
	st := p.Stats()
	checkSettled(t, st)
	if st.Panicked != 1 || reports.Load() != 1 || st.Stealing.ForkedInline != 2 {
		t.Fatalf("Panicked %d, reports %d, inline %d; want 1, 1, 2", st.Panicked, reports.Load(), st.Stealing.ForkedInline)
	}
}

// TestStealingForkLatency: with every task timed, forked subtasks are
// timed too: the histograms count every task.
func TestStealingForkLatency(t *testing.T) {
	p := newStealing[fibTask](t, poolrt.Workers(2), poolrt.LatencySampling(1))
	e := newFibEnv(16, 6, true)
	e.spawn = p.Fork
	if err := p.Submit(context.Background(), e.start(16)); err != nil {
		t.Fatal(err)
	}
	e.wait(t)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	tasks := uint64(len(e.runs)) + uint64(e.leafCount(16))
	if st.Wait.Count != tasks || st.Run.Count != tasks {
		t.Fatalf("Wait.Count %d, Run.Count %d; want %d", st.Wait.Count, st.Run.Count, tasks)
	}
}

// TestStealingParks: idle workers park instead of spinning: soon after a
// burst of work every worker is parked, and stays so.
func TestStealingParks(t *testing.T) {
	const workers = 4
	p := newStealing[fibTask](t, poolrt.Workers(workers))
	e := newFibEnv(20, 8, false)
	e.spawn = p.Fork
	if err := p.Submit(context.Background(), e.start(20)); err != nil {
		t.Fatal(err)
	}
	e.wait(t)
	awaitParked(t, p.sleep, workers)
	if n := p.spinning.Load(); n != 0 {
		t.Fatalf("%d workers count as spinning while all are parked", n)
	}
	before := p.Stats().Stealing.StealAttempts
	time.Sleep(20 * time.Millisecond)
	if after := p.Stats().Stealing.StealAttempts; after != before {
		t.Fatalf("parked workers kept looking for work: %d steal attempts", after-before)
	}
}

// zaTask forks a binary tree of the given depth; the last task of the
// tree to finish counts the tree as finished (a continuation counter for
// the whole tree), so that the test itself allocates nothing per tree.
type zaTask struct {
	depth int32
	env   *zaEnv
}

type zaEnv struct {
	pool      *StealingPool[zaTask]
	remaining atomic.Int64
	finished  atomic.Int64
}

func (z zaTask) Run(ctx context.Context) error {
	e := z.env
	if z.depth > 0 {
		for range 2 {
			if err := e.pool.Fork(ctx, zaTask{depth: z.depth - 1, env: e}); err != nil {
				return err
			}
		}
	}
	if e.remaining.Add(-1) == 0 {
		e.finished.Add(1)
	}
	return nil
}

// TestStealingZeroAllocs: a task forking a tree of subtasks, from Submit
// to the last subtask's end, allocates nothing in steady state: with
// metrics on (a sampled fork reads the clock) and off, and with deques
// and an injector so small that forks overflow to the injector and run
// inline.
func TestStealingZeroAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts in -short mode")
	}
	for _, c := range []struct {
		metrics      bool
		deque, queue int
	}{{true, 256, 1024}, {false, 256, 1024}, {true, 2, 1024}, {true, 2, 2}} {
		t.Run(fmt.Sprintf("metrics=%t,deque=%d,queue=%d", c.metrics, c.deque, c.queue), func(t *testing.T) {
			const depth = 8 // 511 tasks a tree
			p := newStealing[zaTask](t, poolrt.Workers(2), poolrt.Metrics(c.metrics),
				poolrt.DequeSize(c.deque), poolrt.QueueSize(c.queue))
			e := &zaEnv{pool: p}
			tree := func() {
				e.remaining.Store(1<<(depth+1) - 1)
				want := e.finished.Load() + 1
				if err := p.Submit(context.Background(), zaTask{depth: depth, env: e}); err != nil {
					t.Fatal(err)
				}
				for i := 0; e.finished.Load() < want; i++ {
					runtime.Gosched()
				}
			}
			for range 20 { // warm up: wake channels, goroutine stacks
				tree()
			}
			if allocs := testing.AllocsPerRun(50, tree); allocs != 0 {
				t.Fatalf("%v allocations per tree of %d forked tasks", allocs, 1<<(depth+1)-2)
			}
			if err := p.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			// The small deques send forks to the injector, the small
			// injector sends them inline: every path is measured.
			s := p.Stats().Stealing
			if s.Forked == 0 || (c.deque == 2) != (s.ForkedToInjector > 0) || (c.queue == 2) != (s.ForkedInline > 0) {
				t.Fatalf("%d forked onto a deque, %d to the injector, %d inline", s.Forked, s.ForkedToInjector, s.ForkedInline)
			}
		})
	}
}

// lateForkTask waits for its gate (or, with onCancel, for its context to
// be canceled) and then forks a child, recording Fork's error.
type lateForkTask struct {
	child bool
	env   *lateForkEnv
}

type lateForkEnv struct {
	pool     *StealingPool[lateForkTask]
	started  chan struct{}
	gate     chan struct{}
	onCancel bool
	forkErr  error
	childRan atomic.Int32
}

func (l lateForkTask) Run(ctx context.Context) error {
	e := l.env
	if l.child {
		e.childRan.Add(1)
		return nil
	}
	close(e.started)
	if e.onCancel {
		<-ctx.Done()
	} else {
		<-e.gate
	}
	e.forkErr = e.pool.Fork(ctx, lateForkTask{child: true, env: e})
	return nil
}

// TestStealingForkAfterIdleDrain: Shutdown begins while one task runs and
// every other worker is idle, with nothing queued. The idle workers must
// not end the drain: the running task may still fork, and its subtask
// must run before Shutdown returns.
func TestStealingForkAfterIdleDrain(t *testing.T) {
	p := newStealing[lateForkTask](t, poolrt.Workers(3))
	e := &lateForkEnv{pool: p, started: make(chan struct{}), gate: make(chan struct{})}
	if err := p.Submit(context.Background(), lateForkTask{env: e}); err != nil {
		t.Fatal(err)
	}
	<-e.started
	shut := make(chan error, 1)
	go func() { shut <- p.Shutdown(context.Background()) }()
	// Wait until the idle workers have seen the drain and parked again
	// (or, wrongly, ended it and exited).
	deadline := time.Now().Add(stealWait)
	for p.life.State() != Draining || p.sleep.Parked() < 2 && p.life.Live() == 3 {
		if time.Now().After(deadline) {
			t.Fatal("the idle workers never parked")
		}
		time.Sleep(100 * time.Microsecond)
	}
	time.Sleep(time.Millisecond)
	close(e.gate)
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if e.forkErr != nil || e.childRan.Load() != 1 {
		t.Fatalf("Fork during the drain: %v; the subtask ran %d times", e.forkErr, e.childRan.Load())
	}
	checkSettled(t, p.Stats())
}

// TestStealingForkAfterShutdownNow: a task still running when ShutdownNow
// is called gets ErrClosed from Fork, and its subtask neither runs nor is
// handed back.
func TestStealingForkAfterShutdownNow(t *testing.T) {
	p := newStealing[lateForkTask](t, poolrt.Workers(2))
	e := &lateForkEnv{pool: p, started: make(chan struct{}), onCancel: true}
	if err := p.Submit(context.Background(), lateForkTask{env: e}); err != nil {
		t.Fatal(err)
	}
	<-e.started
	if back := p.ShutdownNow(); len(back) != 0 {
		t.Fatalf("ShutdownNow handed back %d tasks", len(back))
	}
	if !errors.Is(e.forkErr, poolrt.ErrClosed) || e.childRan.Load() != 0 {
		t.Fatalf("Fork after ShutdownNow: %v, the subtask ran %d times; want ErrClosed, 0", e.forkErr, e.childRan.Load())
	}
	checkSettled(t, p.Stats())
}

// TestStealingLastSpinnerWakes: a worker that stops looking for work,
// the last one looking, while work is still visible wakes a parked
// worker for it: producers skipped waking anyone while it looked.
func TestStealingLastSpinnerWakes(t *testing.T) {
	p := newStealing[lateForkTask](t, poolrt.Workers(3))
	awaitParked(t, p.sleep, 3)
	deadline := time.Now().Add(stealWait)
	e := &lateForkEnv{pool: p}
	// Pretend worker 0 is looking for work, and that a task lands in
	// worker 1's deque meanwhile: whoever queued it saw worker 0 looking
	// and woke nobody.
	p.spinning.Add(1)
	w := p.workers[1]
	w.dq.hold()
	w.dq.push(&lateForkTask{child: true, env: e}, nil, 0, 0)
	w.dq.release()
	p.found(p.workers[0]) // worker 0 found something else
	for e.childRan.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the task left in a deque never ran: no worker was woken")
		}
		time.Sleep(100 * time.Microsecond)
	}
	p.workers[0].meter.SetBusy(false)
}

// TestStealingSubmitWakesWhileLooking: a submitted task wakes a parked
// worker even while another worker counts as looking for work. A looking
// worker may be waiting for a CPU (it yields between looks), so the task
// must not wait for it.
func TestStealingSubmitWakesWhileLooking(t *testing.T) {
	p := newStealing[lateForkTask](t, poolrt.Workers(2))
	awaitParked(t, p.sleep, 2)
	deadline := time.Now().Add(stealWait)
	// Pretend a worker is looking for work, and never gets to run.
	p.spinning.Add(1)
	defer p.spinning.Add(-1)
	e := &lateForkEnv{pool: p}
	if err := p.Submit(context.Background(), lateForkTask{child: true, env: e}); err != nil {
		t.Fatal(err)
	}
	for e.childRan.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the submitted task never ran: no parked worker was woken")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// budgetTask sleeps for d, or, when gate is set, says it started and
// waits for the gate to close. It counts the runs that found tasks
// waiting on their worker's deque.
type budgetTask struct {
	d       time.Duration
	gate    chan struct{}
	started chan<- struct{}
	ran     *atomic.Int64
	queued  *atomic.Int64 // runs that found their worker's deque not empty
}

func (t budgetTask) Run(ctx context.Context) error {
	if c, ok := ctx.(*stealCtx[budgetTask]); ok && !c.w.dq.empty() {
		t.queued.Add(1)
	}
	if t.gate != nil {
		t.started <- struct{}{}
		<-t.gate
	} else {
		time.Sleep(t.d)
	}
	t.ran.Add(1)
	return nil
}

// TestStealingInjectorBudget: once a sampled task has shown that tasks
// take longer than poolrt.BatchBudget, workers take submitted tasks from
// the injector one at a time instead of moving batches onto their deques,
// where they would wait behind each other until a thief came.
func TestStealingInjectorBudget(t *testing.T) {
	const queued = 20
	p := newStealing[budgetTask](t, poolrt.Workers(2), poolrt.LatencySampling(1))
	ctx := context.Background()
	ran, batched := new(atomic.Int64), new(atomic.Int64)
	wait := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(stealWait)
		for ran.Load() != n {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d tasks ran", ran.Load(), n)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	long := budgetTask{d: 2 * BatchBudget, ran: ran, queued: batched}
	if err := p.Submit(ctx, long); err != nil { // timed: sets the mean
		t.Fatal(err)
	}
	wait(1)
	gate, started := make(chan struct{}), make(chan struct{})
	for range 2 {
		if err := p.Submit(ctx, budgetTask{gate: gate, started: started, ran: ran, queued: batched}); err != nil {
			t.Fatal(err)
		}
	}
	<-started
	<-started
	for range queued {
		if err := p.Submit(ctx, long); err != nil {
			t.Fatal(err)
		}
	}
	close(gate)
	wait(3 + queued)
	if n := batched.Load(); n != 0 {
		t.Errorf("tasks of %v: %d of %d started with tasks waiting on their worker's deque; want none (taken one at a time)",
			long.d, n, 3+queued)
	}
	if st := p.Stats().Stealing; st.Stolen != 0 || st.Injector != 3+queued {
		t.Errorf("%d stolen, %d taken from the injector; want 0 and %d", st.Stolen, st.Injector, 3+queued)
	}
}

// TestStealingStatsNoPhantomForks: Stats read while workers take, start
// and finish submitted tasks (batches of them through the deques) never
// counts a fork when there is none, so Submitted never runs ahead of the
// tasks actually submitted. A snapshot that read a worker's start
// counters before its finished ones, or the deques before the injector's
// taken count, would count a task that started and finished in between
// as a fork run locally.
func TestStealingStatsNoPhantomForks(t *testing.T) {
	p := newStealing[dynCount](t, poolrt.Workers(2), poolrt.QueueSize(64))
	var ran, submitted atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := p.Submit(context.Background(), dynCount{ran: &ran}); err != nil {
				t.Error(err)
				return
			}
			submitted.Add(1)
		}
	}()
	deadline := time.Now().Add(time.Second)
	reads := 0
	for time.Now().Before(deadline) {
		st := p.Stats()
		n := uint64(submitted.Load()) + 1 // one Submit may have counted before submitted
		if s := st.Stealing; s.Forked != 0 || st.Submitted > n {
			close(stop)
			wg.Wait()
			t.Fatalf("read %d: Forked %d, Submitted %d with at most %d submitted", reads, s.Forked, st.Submitted, n)
		}
		reads++
	}
	close(stop)
	wg.Wait()
	t.Logf("%d snapshots, %d tasks", reads, submitted.Load())
}

// yieldTask forks a leaf onto its worker's deque and ends its worker's
// slice, so that the worker gives way before the leaf.
type yieldTask struct {
	pool   *StealingPool[yieldTask]
	leaf   bool
	probe  *yieldProbe
	worker **StealWorker[yieldTask]
	done   *sync.WaitGroup
}

func (y yieldTask) Run(ctx context.Context) error {
	defer y.done.Done()
	if y.leaf {
		return nil
	}
	w := ctx.Value(stealKey{}).(*StealWorker[yieldTask])
	*y.worker = w
	leaf := y
	leaf.leaf = true
	y.done.Add(1)
	if err := y.pool.Fork(ctx, leaf); err != nil {
		y.done.Done()
		return err
	}
	w.slice.end, w.slice.left = 1, 1 // the slice is over: Next gives way
	y.probe.arm()
	return nil
}

// TestStealingYieldLeavesNextTaskOnDeque: a worker of the work-stealing
// pool gives way at the end of its slice before it pops its next task, so
// that the task stays on its deque, where a thief can take it, while the
// worker waits for its P again.
func TestStealingYieldLeavesNextTaskOnDeque(t *testing.T) {
	var (
		worker *StealWorker[yieldTask]
		done   sync.WaitGroup
	)
	probe := probeYields(t, func() bool { return !worker.dq.empty() })
	p := newStealing[yieldTask](t, poolrt.Workers(1))
	done.Add(1)
	if err := p.Submit(context.Background(), yieldTask{pool: p, probe: probe, worker: &worker, done: &done}); err != nil {
		t.Fatal(err)
	}
	done.Wait()
	probe.gaveWay(t, "popped its next task")
	p.ShutdownNow()
}

// TestStealingWaitsForInjectorTaker: a worker that saw a task in an
// injector shard another worker is taking from (its lock held, as by a
// worker stopped in the middle of a take) and parked in vain waits for
// that lock rather than look again and again, and runs the task once the
// lock is free.
func TestStealingWaitsForInjectorTaker(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two injector shards: GOMAXPROCS ≥ 2")
	}
	var yields atomic.Int64
	saved := gosched
	gosched = func() {
		yields.Add(1)
		runtime.Gosched()
	}
	t.Cleanup(func() { gosched = saved })
	p := newStealing[dynCount](t, poolrt.Workers(2))
	if len(p.q.shards) != 2 {
		t.Fatalf("%d injector shards, want 2", len(p.q.shards))
	}
	awaitParked(t, p.sleep, 2)
	victim := &p.q.shards[1] // worker 1's home: worker 0 steals from it
	victim.out.Lock()
	var ran atomic.Int64
	if r := victim.push(dynCount{&ran}, nil, &p.q.sampler, false, 0); r != pushed {
		t.Fatalf("push: %v", r)
	}
	before := yields.Load()
	p.sleep.WakeID(0)
	// Time enough for a worker that looks again and again to have
	// yielded thousands of times.
	time.Sleep(20 * time.Millisecond)
	n := yields.Load() - before
	victim.out.Unlock()
	for deadline := time.Now().Add(stealWait); ran.Load() == 0; time.Sleep(100 * time.Microsecond) {
		if time.Now().After(deadline) {
			t.Fatal("the task did not run")
		}
	}
	if limit := int64(2*IdleLooks + 2); n > limit {
		t.Errorf("the worker yielded %d times while the shard's lock was held, want at most %d", n, limit)
	}
}
