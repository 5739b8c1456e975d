package templates

import (
	"context"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolimpl"
)

// FixedPool runs tasks of type T on a fixed number of worker goroutines fed
// by a bounded, sharded queue.
//
// Submissions are spread over shards (one per worker, at most one per
// processor) and workers take tasks in batches, so neither submitters nor
// workers all meet on one lock. Order is FIFO within a shard and only
// roughly FIFO overall. Tasks are stored by value in preallocated slots:
// submitting and running one allocates nothing.
//
// Every accepted task runs exactly once, or is returned by ShutdownNow. A
// task that panics is recovered, counted and reported (see poolrt.OnPanic);
// its worker is replaced and the pool keeps serving.
//
// A FixedPool is safe for concurrent use. Create one with NewFixedPool.
// Its methods must not be called from inside a task's Run: Shutdown and
// ShutdownNow would wait for the calling task itself.
type FixedPool[T Task] struct {
	p     poolimpl.Fixed[T]
	later poolimpl.Later[T]
}

// NewFixedPool starts a pool configured by opts: poolrt.Workers (default
// GOMAXPROCS), poolrt.QueueSize, poolrt.OnFull, poolrt.OnPanic,
// poolrt.OnError, poolrt.Metrics and poolrt.LatencySampling. A bad option is
// reported as a *poolrt.ConfigError and no goroutine is started.
func NewFixedPool[T Task](opts ...poolrt.Option) (*FixedPool[T], error) {
	p := new(FixedPool[T])
	if err := p.p.Init(opts, batchLane[T]()); err != nil {
		return nil, err
	}
	return p, nil
}

// Submit queues t, waiting while the queue is full (under the default
// poolrt.Block policy) until there is room, ctx is done (ctx's error is
// returned) or the pool shuts down (poolrt.ErrClosed). With the default
// queue size it also paces its caller: while the workers are behind by
// more than a short time's work, it waits the same way until a worker
// starts a task (see poolrt.QueueSize). Under poolrt.Reject
// it returns poolrt.ErrQueueFull instead of waiting; under
// poolrt.CallerRuns it runs t on the calling goroutine. ctx only bounds the
// wait: the task runs with the pool's context.
func (p *FixedPool[T]) Submit(ctx context.Context, t T) error { return p.p.Submit(ctx, t) }

// TrySubmit queues t if there is room and never blocks: it returns
// poolrt.ErrQueueFull when the queue is full and poolrt.ErrClosed after
// shutdown, whatever the backpressure policy.
func (p *FixedPool[T]) TrySubmit(t T) error { return p.p.TrySubmit(t) }

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
func (p *FixedPool[T]) SubmitWait(ctx context.Context, t T) error { return p.p.SubmitWait(ctx, t) }

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
func (p *FixedPool[T]) SubmitAfter(d time.Duration, t T) error {
	return p.later.SubmitAfter(d, t, p, &p.p)
}

// SubmitAt queues t to be submitted at time at, as SubmitAfter does
// with the time left until at.
func (p *FixedPool[T]) SubmitAt(at time.Time, t T) error {
	return p.later.SubmitAt(at, t, p, &p.p)
}

// Closed reports whether the pool has stopped accepting tasks (Shutdown
// or ShutdownNow was called), without submitting one.
func (p *FixedPool[T]) Closed() bool { return p.p.Closed() }

// Shutdown stops intake, lets the workers finish every queued task and
// waits for them to exit. Submit and TrySubmit return poolrt.ErrClosed from
// the moment Shutdown is called. If ctx is done first, Shutdown returns
// ctx's error while the pool goes on draining; ShutdownNow then stops it.
// Tasks running on submitters' goroutines under poolrt.CallerRuns are the
// submitters' own: Shutdown does not wait for them.
func (p *FixedPool[T]) Shutdown(ctx context.Context) error {
	p.later.Stop(false)
	return p.p.Shutdown(ctx)
}

// ShutdownNow stops intake, cancels the context passed to running tasks,
// waits for the workers to finish their current task and exit, and returns
// every accepted task that never started, roughly oldest first. Only the
// first call returns tasks.
func (p *FixedPool[T]) ShutdownNow() []T {
	held := p.later.Stop(true)
	return append(p.p.ShutdownNow(), held...)
}

// Stats returns a snapshot of the pool's metrics.
func (p *FixedPool[T]) Stats() poolrt.Stats {
	st := p.p.Stats()
	p.later.AddStats(&st)
	return st
}
