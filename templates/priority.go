package templates

import (
	"context"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolimpl"
)

// PriorityPool runs tasks of type T on a fixed number of workers, highest
// Priority() first, in submission order among equal priorities.
//
// The order is strict: whenever a worker takes a task, it takes the best
// queued one, one task at a time, so with every worker busy tasks start
// exactly in priority order, and a low-priority task never keeps a
// higher one from the next free worker. Tasks are not preempted: a task
// that has started runs to its end.
//
// With poolrt.Aging(every), a waiting task's effective priority rises by
// one level per every of waiting, so that a steady stream of important
// work cannot starve the rest: a task of the lowest priority Pmin waits
// at most (Pmax−Pmin)·every from the call to Submit, plus the time the
// workers need for the tasks ahead of it at that moment and those running
// (see poolrt.Aging). When the queue is full, blocked submitters are
// admitted best effective priority first as slots free up.
//
// Priority() is called once per task, when it is submitted; a task's
// priority is fixed from then on. Submit and the worker's take are
// O(log n) for n queued tasks, under one lock held only for the heap
// operation; submitting and running a task allocates nothing.
//
// Every accepted task runs exactly once, or is returned by ShutdownNow. A
// task that panics is recovered, counted and reported (see
// poolrt.OnPanic); its worker is replaced and the pool keeps serving.
// Stats().Priority has per-band figures (poolrt.Bands).
//
// A PriorityPool is safe for concurrent use. Create one with
// NewPriorityPool. Its methods must not be called from inside a task's
// Run: Shutdown and ShutdownNow would wait for the calling task itself.
type PriorityPool[T PriorityTask] struct {
	e     poolimpl.Rank[T]
	later poolimpl.Later[T]
}

// NewPriorityPool starts a pool configured by opts: poolrt.Workers
// (default GOMAXPROCS), poolrt.QueueSize, poolrt.OnFull, poolrt.OnPanic,
// poolrt.OnError, poolrt.Metrics, poolrt.LatencySampling, poolrt.Aging
// (default off) and poolrt.Bands (priority bands for Stats; default one). A
// bad option is reported as a *poolrt.ConfigError and no goroutine is
// started.
func NewPriorityPool[T PriorityTask](opts ...poolrt.Option) (*PriorityPool[T], error) {
	p := new(PriorityPool[T])
	if err := p.e.Init(poolrt.ByPriority, opts, rankLane[T](), nil, nil); err != nil {
		return nil, err
	}
	return p, nil
}

// Submit queues t by its priority, waiting while the queue is full (under
// the default poolrt.Block policy) until there is room, ctx is done (ctx's
// error is returned) or the pool shuts down (poolrt.ErrClosed). Under
// poolrt.Reject it returns poolrt.ErrQueueFull instead of waiting; under
// poolrt.CallerRuns it runs t on the calling goroutine. Submitters waiting
// for room are let in highest effective priority first (in arrival order
// among equals), with aging counted from their call. ctx only bounds the
// wait: the task runs with the pool's context. O(log n).
func (p *PriorityPool[T]) Submit(ctx context.Context, t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.Submit(ctx, t, t.Priority())
}

// TrySubmit queues t by its priority if there is room and never blocks: it
// returns poolrt.ErrQueueFull when the queue is full and poolrt.ErrClosed
// after shutdown, whatever the backpressure policy. O(log n).
func (p *PriorityPool[T]) TrySubmit(t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.TrySubmit(t, t.Priority())
}

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
func (p *PriorityPool[T]) SubmitWait(ctx context.Context, t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.SubmitWait(ctx, t, t.Priority())
}

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
func (p *PriorityPool[T]) SubmitAfter(d time.Duration, t T) error {
	return p.later.SubmitAfter(d, t, p, &p.e)
}

// SubmitAt queues t to be submitted at time at, as SubmitAfter does
// with the time left until at.
func (p *PriorityPool[T]) SubmitAt(at time.Time, t T) error {
	return p.later.SubmitAt(at, t, p, &p.e)
}

// Closed reports whether the pool has stopped accepting tasks (Shutdown
// or ShutdownNow was called), without submitting one.
func (p *PriorityPool[T]) Closed() bool { return p.e.Closed() }

// Shutdown stops intake, lets the workers finish every queued task (in
// priority order) and waits for them to exit. Submit and TrySubmit return
// poolrt.ErrClosed from the moment Shutdown is called. If ctx is done
// first, Shutdown returns ctx's error while the pool goes on draining;
// ShutdownNow then stops it.
func (p *PriorityPool[T]) Shutdown(ctx context.Context) error {
	p.later.Stop(false)
	return p.e.Shutdown(ctx)
}

// ShutdownNow stops intake, cancels the context passed to running tasks,
// waits for the workers to finish their current task and exit, and returns
// every accepted task that never started, in the order they would have
// run (highest effective priority first). Only the first call returns
// tasks. O(n log n).
func (p *PriorityPool[T]) ShutdownNow() []T {
	held := p.later.Stop(true)
	return append(p.e.ShutdownNow(), held...)
}

// Stats returns a snapshot of the pool's metrics, with the per-band
// figures in its Priority section.
func (p *PriorityPool[T]) Stats() poolrt.Stats {
	st := p.e.Stats()
	p.later.AddStats(&st)
	return st
}
