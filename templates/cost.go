package templates

import (
	"context"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolimpl"
)

// CostPool runs tasks of type T on a fixed number of workers, lowest
// Cost() first (shortest-job-first scheduling), in submission order among
// equal costs. Cost is the task's own estimate of its run time, in any
// unit; running the short jobs first minimizes the mean wait.
//
// The order is strict, as in PriorityPool: with every worker busy, tasks
// start exactly in cost order, one task per take, and an expensive task
// never keeps a cheaper one from the next free worker.
//
// Shortest-job-first starves expensive jobs under a steady stream of cheap
// ones. poolrt.Aging(every) bounds that: a waiting task's effective cost
// falls by one unit per every of waiting, so a task of cost Cmax, among
// tasks of cost at least Cmin, waits at most (Cmax−Cmin)·every, plus the
// time the workers need for the tasks queued ahead of it at that moment
// and those running. Without aging the order is pure SJF.
//
// Cost() is called once per task, when it is submitted. Submit and the
// worker's take are O(log n) for n queued tasks; submitting and running a
// task allocates nothing.
//
// Every accepted task runs exactly once, or is returned by ShutdownNow. A
// task that panics is recovered, counted and reported (see
// poolrt.OnPanic); its worker is replaced and the pool keeps serving.
// Stats().Priority has per-band figures (poolrt.Bands, by cost).
//
// A CostPool is safe for concurrent use. Create one with NewCostPool. Its
// methods must not be called from inside a task's Run: Shutdown and
// ShutdownNow would wait for the calling task itself.
type CostPool[T CostTask] struct {
	e     poolimpl.Rank[T]
	later poolimpl.Later[T]
}

// NewCostPool starts a pool configured by opts: poolrt.Workers (default
// GOMAXPROCS), poolrt.QueueSize, poolrt.OnFull, poolrt.OnPanic,
// poolrt.OnError, poolrt.Metrics, poolrt.LatencySampling, poolrt.Aging
// (default off) and poolrt.Bands (cost bands for Stats; default one). A bad
// option is reported as a *poolrt.ConfigError and no goroutine is started.
func NewCostPool[T CostTask](opts ...poolrt.Option) (*CostPool[T], error) {
	p := new(CostPool[T])
	if err := p.e.Init(poolrt.ByCost, opts, rankLane[T](), nil, nil); err != nil {
		return nil, err
	}
	return p, nil
}

// Submit queues t by its cost, waiting while the queue is full (under the
// default poolrt.Block policy) until there is room, ctx is done (ctx's
// error is returned) or the pool shuts down (poolrt.ErrClosed). Under
// poolrt.Reject it returns poolrt.ErrQueueFull instead of waiting; under
// poolrt.CallerRuns it runs t on the calling goroutine. Submitters waiting
// for room are let in cheapest first (in arrival order among equals), with
// aging counted from their call. ctx only bounds the wait: the task runs
// with the pool's context. O(log n).
func (p *CostPool[T]) Submit(ctx context.Context, t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.Submit(ctx, t, t.Cost())
}

// TrySubmit queues t by its cost if there is room and never blocks: it
// returns poolrt.ErrQueueFull when the queue is full and poolrt.ErrClosed
// after shutdown, whatever the backpressure policy. O(log n).
func (p *CostPool[T]) TrySubmit(t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.TrySubmit(t, t.Cost())
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
func (p *CostPool[T]) SubmitWait(ctx context.Context, t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.SubmitWait(ctx, t, t.Cost())
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
func (p *CostPool[T]) SubmitAfter(d time.Duration, t T) error {
	return p.later.SubmitAfter(d, t, p, &p.e)
}

// SubmitAt queues t to be submitted at time at, as SubmitAfter does
// with the time left until at.
func (p *CostPool[T]) SubmitAt(at time.Time, t T) error {
	return p.later.SubmitAt(at, t, p, &p.e)
}

// Closed reports whether the pool has stopped accepting tasks (Shutdown
// or ShutdownNow was called), without submitting one.
func (p *CostPool[T]) Closed() bool { return p.e.Closed() }

// Shutdown stops intake, lets the workers finish every queued task (in
// cost order) and waits for them to exit. Submit and TrySubmit return
// poolrt.ErrClosed from the moment Shutdown is called. If ctx is done
// first, Shutdown returns ctx's error while the pool goes on draining;
// ShutdownNow then stops it.
func (p *CostPool[T]) Shutdown(ctx context.Context) error {
	p.later.Stop(false)
	return p.e.Shutdown(ctx)
}

// ShutdownNow stops intake, cancels the context passed to running tasks,
// waits for the workers to finish their current task and exit, and returns
// every accepted task that never started, in the order they would have
// run (lowest effective cost first). Only the first call returns tasks.
// O(n log n).
func (p *CostPool[T]) ShutdownNow() []T {
	held := p.later.Stop(true)
	return append(p.e.ShutdownNow(), held...)
}

// Stats returns a snapshot of the pool's metrics, with the per-band
// figures in its Priority section.
func (p *CostPool[T]) Stats() poolrt.Stats {
	st := p.e.Stats()
	p.later.AddStats(&st)
	return st
}
