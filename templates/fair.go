package templates

import (
	"context"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolimpl"
)

// FairPool runs tasks of type T on a fixed number of workers, sharing the
// workers between the tasks' tenants (Tenant()) by weight, so that a
// tenant flooding the pool cannot starve the others.
//
// Each tenant has a queue of its own, in submission order. Whenever a
// worker is free it takes the next task of the tenant furthest behind its
// share: shares are of worker time, measured (a tenant whose tasks run
// ten times longer gets a tenth as many of them run), in proportion to
// the tenants' weights (poolrt.TenantWeights, poolrt.TenantWeight;
// default 1 each) among the tenants with tasks queued. While tenants stay
// backlogged, each gets its share of the workers' time within about one
// task's run time; a tenant with less queued than its share gets all it
// asks for, its tasks starting at the next free worker. An idle tenant
// neither saves up credit nor keeps a debt beyond the time the others
// take to catch up, and the pool forgets it then, so memory stays bounded
// however many tenants come and go. (The discipline is start-time fair
// queueing in worker time; docs/FAIRNESS.md has the measurements.)
//
// A tenant may queue poolrt.TenantQueueSize tasks (default QueueSize/8):
// beyond that its submissions meet the pool's backpressure (poolrt.OnFull)
// while the other tenants' tasks are still accepted. QueueSize bounds the
// tasks of all tenants together. Blocked submitters are admitted in
// submission order within a tenant, round robin between tenants.
//
// Tenant() is called once per task, when it is submitted. Submit and the
// worker's take are O(log n) for n backlogged tenants, under one lock held
// only for the queue operations, never while a task runs; taking up a new
// tenant costs a map insertion. Every task's run time is measured (two
// clock reads), whatever poolrt.LatencySampling says, since the shares
// are charged by it.
//
// Every accepted task runs exactly once, or is returned by ShutdownNow. A
// task that panics is recovered, counted and reported (see
// poolrt.OnPanic), its run time charged to its tenant; its worker is
// replaced and the pool keeps serving. Stats().Fair has per-tenant
// figures.
//
// A FairPool is safe for concurrent use. Create one with NewFairPool. Its
// methods must not be called from inside a task's Run: Shutdown and
// ShutdownNow would wait for the calling task itself.
type FairPool[T FairTask[K], K comparable] struct {
	e     poolimpl.Fair[T, K]
	later poolimpl.Later[T]
}

// NewFairPool starts a pool configured by opts: poolrt.Workers (default
// GOMAXPROCS), poolrt.QueueSize, poolrt.TenantQueueSize,
// poolrt.TenantWeights or poolrt.TenantWeight, poolrt.OnFull,
// poolrt.OnPanic, poolrt.OnError, poolrt.OnTaskError, poolrt.OnTaskPanic,
// poolrt.TaskTimeout, poolrt.Name, poolrt.Metrics and
// poolrt.LatencySampling. A bad option is reported as a
// *poolrt.ConfigError and no goroutine is started.
func NewFairPool[T FairTask[K], K comparable](opts ...poolrt.Option) (*FairPool[T, K], error) {
	p := new(FairPool[T, K])
	if err := p.e.Init(opts, fairLane[T]()); err != nil {
		return nil, err
	}
	return p, nil
}

// fairLane returns the lane of the fair pool of T.
func fairLane[T Task]() poolimpl.Lane[T] {
	return poolimpl.Lane[T]{Fair: runFair[T], One: runOne[T], Timeout: timeoutOf[T]()}
}

// runFair runs a fair pool worker's tasks until it should exit. In
// generated code the call of Run is direct.
func runFair[T Task](w *poolimpl.FairWorker[T]) {
	ctx := w.Context()
	for t := w.First(); t != nil; {
		t = w.Next((*t).Run(ctx))
	}
}

// Submit queues t in its tenant's queue, waiting while that queue or the
// pool's is full (under the default poolrt.Block policy) until there is
// room, ctx is done (ctx's error is returned) or the pool shuts down
// (poolrt.ErrClosed). Under poolrt.Reject it returns poolrt.ErrQueueFull
// instead of waiting; under poolrt.CallerRuns it runs t on the calling
// goroutine (not charged to the tenant: it takes no worker time). ctx only
// bounds the wait: the task runs with the pool's context.
func (p *FairPool[T, K]) Submit(ctx context.Context, t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.Submit(ctx, t, t.Tenant())
}

// TrySubmit queues t if its tenant's queue and the pool's have room and
// never blocks: it returns poolrt.ErrQueueFull when either is full and
// poolrt.ErrClosed after shutdown, whatever the backpressure policy.
func (p *FairPool[T, K]) TrySubmit(t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.TrySubmit(t, t.Tenant())
}

// SubmitWait queues t as Submit does and waits for it to end, for
// request/response use: it returns what t's Run returned, a
// *poolrt.PanicError if Run panicked, poolrt.ErrClosed if ShutdownNow
// handed t back unrun, or the error Submit returns if t was not accepted.
// ctx bounds both waits, for room and for the outcome: if it ends after t
// was accepted, SubmitWait returns ctx's error and t still runs (its
// failure then goes to poolrt.OnError). The error of a task whose
// submitter waits for it is reported to that submitter, not to
// poolrt.OnError; a panic is reported to both.
func (p *FairPool[T, K]) SubmitWait(ctx context.Context, t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.SubmitWait(ctx, t, t.Tenant())
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
func (p *FairPool[T, K]) SubmitAfter(d time.Duration, t T) error {
	return p.later.SubmitAfter(d, t, p, &p.e)
}

// SubmitAt queues t to be submitted at time at, as SubmitAfter does
// with the time left until at.
func (p *FairPool[T, K]) SubmitAt(at time.Time, t T) error {
	return p.later.SubmitAt(at, t, p, &p.e)
}

// Closed reports whether the pool has stopped accepting tasks (Shutdown
// or ShutdownNow was called), without submitting one.
func (p *FairPool[T, K]) Closed() bool { return p.e.Closed() }

// Shutdown stops intake, lets the workers finish every queued task (still
// sharing them by weight) and waits for them to exit. Submit and TrySubmit
// return poolrt.ErrClosed from the moment Shutdown is called. If ctx is
// done first, Shutdown returns ctx's error while the pool goes on
// draining; ShutdownNow then stops it.
func (p *FairPool[T, K]) Shutdown(ctx context.Context) error {
	p.later.Stop(false)
	return p.e.Shutdown(ctx)
}

// ShutdownNow stops intake, cancels the context passed to running tasks,
// waits for the workers to finish their current task and exit, and returns
// every accepted task that never started, in the order the workers would
// have taken them. Only the first call returns tasks.
func (p *FairPool[T, K]) ShutdownNow() []T {
	held := p.later.Stop(true)
	return append(p.e.ShutdownNow(), held...)
}

// Stats returns a snapshot of the pool's metrics, with the per-tenant
// figures in its Fair section.
func (p *FairPool[T, K]) Stats() poolrt.Stats {
	st := p.e.Stats()
	p.later.AddStats(&st)
	return st
}
