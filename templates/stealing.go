package templates

import (
	"context"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolimpl"
)

// StealingPool runs tasks of type T on a fixed number of workers, each
// with its own deque of tasks; idle workers steal from busy ones. It is
// made for tasks that split their work into subtasks (fork-join,
// divide and conquer, graph traversals) and for uneven workloads, where a
// few tasks fork many and the rest are tiny.
//
// Submit and TrySubmit feed a shared, bounded queue (the injector), which
// workers take from oldest first, in batches as long as the tasks are
// short (about 10 µs of work a batch, by the sampled run times): with one worker,
// submitted tasks start in submission order. A running task forks
// subtasks with Fork, passing the ctx its Run was given: the subtask goes
// onto the deque of the worker running the task, without a lock or an
// allocation, and that worker runs it next (newest first: the subtask's
// data is still in cache) unless an idle worker steals it first. Thieves
// take the oldest half of a victim's deque, which in a divide-and-conquer
// tree are the biggest pieces of work. A worker looks in its own deque,
// then the injector, then the other deques from a random one on, spins
// briefly, then parks. A submitted task wakes a parked worker, if any; a
// fork wakes one only when no worker is already looking for work. Tasks
// are held by value in preallocated slots: Submit → run and Fork → run
// allocate nothing.
//
// # Fork-join
//
// A task forks subtasks and lets the last one to finish carry on, rather
// than wait for them:
//
//	type Sum struct {
//		Lo, Hi int
//		Out    *Node // where this range's sum goes
//	}
//
//	// Node joins the two halves of a range: the half that finishes
//	// second adds the total to the parent's node.
//	type Node struct {
//		Pending atomic.Int32 // halves not yet finished; starts at 2
//		Sum     atomic.Int64
//		Parent  *Node
//	}
//
//	func (s Sum) Run(ctx context.Context) error {
//		if s.Hi-s.Lo <= cutoff {
//			s.Out.Add(sumOf(s.Lo, s.Hi))
//			return nil
//		}
//		n := &Node{Parent: s.Out}
//		n.Pending.Store(2)
//		mid := (s.Lo + s.Hi) / 2
//		if err := pool.Fork(ctx, Sum{s.Lo, mid, n}); err != nil {
//			return err // poolrt.ErrClosed: ShutdownNow was called
//		}
//		return pool.Fork(ctx, Sum{mid, s.Hi, n})
//	}
//
// where Node.Add adds v to Sum and, when that brings Pending to zero,
// adds the node's Sum to its Parent (the root's completion signals the
// caller); ExampleStealingPool spells it out. This is a continuation
// counter: no worker ever waits, so the pool runs any tree with any
// number of workers. A task must not wait
// inside Run for the subtasks it forked (a sync.WaitGroup, a channel):
// while it waits its worker runs nothing, and once every worker waits
// for subtasks queued behind it the pool deadlocks; the fewer the
// workers, the sooner. Submit from inside a task has the same problem
// when the queue is full, and Fork never blocks. Under poolrt.Retry a
// subtask that fails is retried in place, as a submitted task is: the
// last one to finish, after its retries, carries on; one that fails for
// good is dead-lettered (poolrt.OnDeadLetter), and its parent's
// continuation never runs unless the task tree handles that.
//
// Fork with a context that does not come from one of this pool's workers
// is Submit. When the worker's deque is full, or another goroutine is
// forking onto it at that instant (a goroutine the task started, with the
// task's ctx), the subtask goes to the injector, where every worker takes
// from; when that is full too, or closed by Shutdown, Fork runs the
// subtask at once on the calling goroutine, before it returns (counted in
// Stats.Stealing.ForkedInline). So forking never blocks, and nothing
// forked during Shutdown is lost. Deques hold one pending subtask per
// level of a divide-and-conquer tree; a task that forks thousands of
// subtasks in a flat loop is better written as such a tree (split the
// range in halves), which keeps every worker busy at a fraction of the
// cost.
//
// # Capacity
//
// poolrt.QueueSize bounds the injector: every task accepted by Submit,
// TrySubmit or a Fork that went to the injector and not yet started,
// including those a worker has moved from the injector into its deque.
// Subtasks forked onto a deque do not count against it: each worker's
// deque holds up to poolrt.DequeSize tasks (default 256) of its own, so
// the pool holds at most QueueSize + Workers × DequeSize accepted tasks
// not yet started. Memory: QueueSize × (size of T + 8) bytes for the
// injector and Workers × DequeSize × (size of T + 16) bytes for the
// deques, allocated by NewStealingPool.
//
// # Shutdown
//
// Shutdown stops Submit and waits until no task is queued and no task
// runs: subtasks forked while it drains still run. ShutdownNow cancels
// the context of running tasks, makes Fork return poolrt.ErrClosed and
// returns every accepted task that never started, from the deques and the
// injector.
//
// Every accepted task runs exactly once, or is returned by ShutdownNow. A
// task that panics is recovered, counted and reported (see
// poolrt.OnPanic); its worker is replaced by a new goroutine that takes
// over its deque, and the pool keeps serving.
//
// A StealingPool is safe for concurrent use. Create one with
// NewStealingPool. Its Shutdown and ShutdownNow must not be called from
// inside a task's Run: they would wait for the calling task itself.
type StealingPool[T Task] struct {
	p     poolimpl.Stealing[T]
	later poolimpl.Later[T]
}

// NewStealingPool starts a pool configured by opts: poolrt.Workers
// (default GOMAXPROCS), poolrt.QueueSize (the injector), poolrt.DequeSize
// (each worker's deque), poolrt.OnFull, poolrt.OnPanic, poolrt.OnError,
// poolrt.Metrics and poolrt.LatencySampling. A bad option is reported as
// a *poolrt.ConfigError and no goroutine is started.
func NewStealingPool[T Task](opts ...poolrt.Option) (*StealingPool[T], error) {
	p := new(StealingPool[T])
	if err := p.p.Init(opts, stealLane[T]()); err != nil {
		return nil, err
	}
	return p, nil
}

// Submit queues t on the injector, waiting while it is full (under the
// default poolrt.Block policy) until there is room, ctx is done (ctx's
// error is returned) or the pool shuts down (poolrt.ErrClosed). Under
// poolrt.Reject it returns poolrt.ErrQueueFull instead of waiting; under
// poolrt.CallerRuns it runs t on the calling goroutine. ctx only bounds
// the wait: the task runs with its worker's context. Tasks use Fork, not
// Submit, for their subtasks.
func (p *StealingPool[T]) Submit(ctx context.Context, t T) error { return p.p.Submit(ctx, t) }

// TrySubmit queues t on the injector if there is room and never blocks:
// it returns poolrt.ErrQueueFull when the injector is full and
// poolrt.ErrClosed after shutdown, whatever the backpressure policy.
func (p *StealingPool[T]) TrySubmit(t T) error { return p.p.TrySubmit(t) }

// SubmitWait queues t as Submit does and waits for it to end, for
// request/response use (an HTTP handler waiting for its task): it returns
// what t's Run returned, a *poolrt.PanicError if Run panicked,
// poolrt.ErrClosed if ShutdownNow handed t back unrun, or the error Submit
// returns if t was not accepted. ctx bounds both waits, for room and for the
// outcome: if it ends after t was accepted, SubmitWait returns ctx's error
// and t still runs (its failure then goes to poolrt.OnError). The error of a
// task whose submitter waits for it is reported to that submitter, not to
// poolrt.OnError; a panic is reported to both. Under poolrt.CallerRuns a
// full queue makes SubmitWait run t itself. In steady state it allocates
// nothing: completion handles are recycled, and one whose submitter gave up
// is reused only once its task has ended.
func (p *StealingPool[T]) SubmitWait(ctx context.Context, t T) error { return p.p.SubmitWait(ctx, t) }

// SubmitAfter queues t to be submitted after d, for background jobs,
// and returns at once. It refuses t with poolrt.ErrClosed once the pool
// is shut down, and with poolrt.ErrQueueFull while as many tasks as the
// queue holds (Stats.QueueCap) wait for their time. At its time t is
// submitted as TrySubmit would; if the queue is full it stays due, tried
// again with a backoff of up to 20 ms, and the tasks due after it wait
// behind it. A pool that refuses it for another reason (an open
// poolrt.Breaker, poolrt.Shed) cancels it: it goes to the dead-letter
// handler (poolrt.OnDeadLetter) with that error and 0 attempts. Shutdown
// cancels the tasks still waiting, with poolrt.ErrClosed, without waiting
// for their time; ShutdownNow returns them with the queued ones.
// Stats.Scheduled counts them. For d <= 0 SubmitAfter is TrySubmit. The
// first call sets up a timer shared by the pool's scheduled tasks: a pool
// that never schedules pays nothing.
func (p *StealingPool[T]) SubmitAfter(d time.Duration, t T) error {
	return p.later.SubmitAfter(d, t, p, &p.p)
}

// SubmitAt queues t to be submitted at time at, as SubmitAfter does
// with the time left until at.
func (p *StealingPool[T]) SubmitAt(at time.Time, t T) error {
	return p.later.SubmitAt(at, t, p, &p.p)
}

// Closed reports whether the pool has stopped accepting tasks (Shutdown
// or ShutdownNow was called), without submitting one.
func (p *StealingPool[T]) Closed() bool { return p.p.Closed() }

// Fork queues t as a subtask of the task whose Run was passed ctx (or a
// context derived from it): onto the deque of the worker running that
// task, which runs it next unless another worker steals it first. It
// never blocks and allocates nothing. When the deque is full, or another
// goroutine is forking onto it at this instant, t goes to the injector;
// when that is full or closed (Shutdown is draining the pool), t runs at
// once on the calling goroutine, with ctx's worker context, before Fork
// returns nil; a panic of t run this way is recovered and counted as any
// task's. After ShutdownNow, and after Shutdown has drained the pool,
// Fork returns poolrt.ErrClosed.
//
// With a context that does not come from one of this pool's workers, Fork
// is Submit(ctx, t).
func (p *StealingPool[T]) Fork(ctx context.Context, t T) error { return p.p.Fork(ctx, t) }

// Shutdown stops intake and waits until every accepted task, and every
// subtask forked meanwhile, has run and the workers have exited. Submit
// and TrySubmit return poolrt.ErrClosed from the moment Shutdown is
// called; Fork from a running task still queues its subtask. If ctx is
// done first, Shutdown returns ctx's error while the pool goes on
// draining; ShutdownNow then stops it.
func (p *StealingPool[T]) Shutdown(ctx context.Context) error {
	p.later.Stop(false)
	return p.p.Shutdown(ctx)
}

// ShutdownNow stops intake, cancels the context passed to running tasks,
// waits for the workers to finish their current task and exit, and
// returns every accepted task that never started: the deques' (oldest
// first) and then the injector's. Fork returns poolrt.ErrClosed from the
// moment ShutdownNow is called. Only the first call returns tasks.
func (p *StealingPool[T]) ShutdownNow() []T {
	held := p.later.Stop(true)
	return append(p.p.ShutdownNow(), held...)
}

// Stats returns a snapshot of the pool's metrics, with the work-stealing
// counters in Stats.Stealing. QueueDepth counts accepted tasks not yet
// started wherever they wait (injector and deques); QueueCap is the
// injector's capacity (QueueSize); Submitted includes forked subtasks.
func (p *StealingPool[T]) Stats() poolrt.Stats {
	st := p.p.Stats()
	p.later.AddStats(&st)
	return st
}
