package templates

import (
	"context"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolimpl"
)

// DeadlinePool runs tasks of type T on a fixed number of workers, earliest
// Deadline() first (earliest-deadline-first scheduling), in submission
// order among equal deadlines. A task whose Deadline() is the zero
// time.Time has none: it runs after every task that has one.
//
// The order is strict, as in PriorityPool: with every worker busy, tasks
// start exactly in deadline order, one task per take, and a task with a
// later deadline never keeps an earlier one from the next free worker.
// Deadlines need no aging: a waiting task's deadline only comes nearer.
//
// A task whose deadline has passed when a worker takes it is late. What
// happens to it is chosen when the pool is made:
//   - by default (poolrt.RunLate) it runs anyway and is counted in
//     Stats().Priority.Missed;
//   - under poolrt.OnLate(poolrt.DropLate) it does not run: it is counted
//     as completed and failed (and in Priority.Dropped), and a
//     *poolrt.DeadlineError, which wraps poolrt.ErrDeadlineExceeded and
//     carries the task and its deadline, goes to the poolrt.OnError
//     handler;
//   - with a handler given to NewDeadlinePool it is passed to the handler
//     instead of running (counted as completed, and in
//     Priority.HandedOff).
//
// The deadline is one a task should start by: a worker checks it when it
// takes the task, with one clock read per task that has a deadline.
// Deadline() is called once per task, when it is submitted (and again
// only to report a dropped task). Submit and the worker's take are
// O(log n) for n queued tasks; submitting and running a task allocates
// nothing.
//
// Every accepted task runs exactly once, is dropped or handed off late as
// above, or is returned by ShutdownNow. A task (or the late handler) that
// panics is recovered, counted and reported (see poolrt.OnPanic); its
// worker is replaced and the pool keeps serving.
//
// A DeadlinePool is safe for concurrent use. Create one with
// NewDeadlinePool. Its methods must not be called from inside a task's
// Run: Shutdown and ShutdownNow would wait for the calling task itself.
type DeadlinePool[T DeadlineTask] struct {
	e     poolimpl.Rank[T]
	later poolimpl.Later[T]
}

// NewDeadlinePool starts a pool configured by opts: poolrt.Workers
// (default GOMAXPROCS), poolrt.QueueSize, poolrt.OnFull, poolrt.OnPanic,
// poolrt.OnError, poolrt.Metrics, poolrt.LatencySampling and
// poolrt.OnLate. A bad option (poolrt.Aging and poolrt.Bands do not apply
// to deadlines) is reported as a *poolrt.ConfigError and no goroutine is
// started.
//
// late, if not nil, takes every task that is late when a worker takes it,
// on the worker's goroutine, in place of its Run; poolrt.OnLate must then
// be left out. The handler is a parameter rather than an option because it
// is typed: options are not generic, so an option could only hand it the
// task as an interface value, boxed (an allocation per late task) and
// asserted back by the caller. Being fixed before any worker starts, it
// needs no synchronization and leaves no window in which late tasks meet
// another policy.
func NewDeadlinePool[T DeadlineTask](late func(T), opts ...poolrt.Option) (*DeadlinePool[T], error) {
	p := new(DeadlinePool[T])
	if err := p.e.Init(poolrt.ByDeadline, opts, rankLane[T](), deadlineOf[T], late); err != nil {
		return nil, err
	}
	return p, nil
}

// deadlineOf returns t's deadline: the pool reads it to report a late
// task it drops (poolrt.DropLate).
func deadlineOf[T DeadlineTask](t T) time.Time { return t.Deadline() }

// Submit queues t by its deadline, waiting while the queue is full (under
// the default poolrt.Block policy) until there is room, ctx is done (ctx's
// error is returned) or the pool shuts down (poolrt.ErrClosed). Under
// poolrt.Reject it returns poolrt.ErrQueueFull instead of waiting; under
// poolrt.CallerRuns it runs t on the calling goroutine, late or not.
// Submitters waiting for room are let in earliest deadline first (in
// arrival order among equals). ctx only bounds the wait: the task runs
// with the pool's context. O(log n).
func (p *DeadlinePool[T]) Submit(ctx context.Context, t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.Submit(ctx, t, p.e.DeadlineKey(t.Deadline()))
}

// TrySubmit queues t by its deadline if there is room and never blocks: it
// returns poolrt.ErrQueueFull when the queue is full and poolrt.ErrClosed
// after shutdown, whatever the backpressure policy. O(log n).
func (p *DeadlinePool[T]) TrySubmit(t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.TrySubmit(t, p.e.DeadlineKey(t.Deadline()))
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
// is reused only once its task has ended. A late task that the pool drops
// (poolrt.DropLate) or hands to its late handler instead of running it ends
// SubmitWait with a *poolrt.DeadlineError.
func (p *DeadlinePool[T]) SubmitWait(ctx context.Context, t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.SubmitWait(ctx, t, p.e.DeadlineKey(t.Deadline()))
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
func (p *DeadlinePool[T]) SubmitAfter(d time.Duration, t T) error {
	return p.later.SubmitAfter(d, t, p, &p.e)
}

// SubmitAt queues t to be submitted at time at, as SubmitAfter does
// with the time left until at.
func (p *DeadlinePool[T]) SubmitAt(at time.Time, t T) error {
	return p.later.SubmitAt(at, t, p, &p.e)
}

// Closed reports whether the pool has stopped accepting tasks (Shutdown
// or ShutdownNow was called), without submitting one.
func (p *DeadlinePool[T]) Closed() bool { return p.e.Closed() }

// Shutdown stops intake, lets the workers finish every queued task (in
// deadline order, late ones under the late policy) and waits for them to
// exit. Submit and TrySubmit return poolrt.ErrClosed from the moment
// Shutdown is called. If ctx is done first, Shutdown returns ctx's error
// while the pool goes on draining; ShutdownNow then stops it.
func (p *DeadlinePool[T]) Shutdown(ctx context.Context) error {
	p.later.Stop(false)
	return p.e.Shutdown(ctx)
}

// ShutdownNow stops intake, cancels the context passed to running tasks,
// waits for the workers to finish their current task and exit, and returns
// every accepted task that never started, earliest deadline first. Only
// the first call returns tasks. O(n log n).
func (p *DeadlinePool[T]) ShutdownNow() []T {
	held := p.later.Stop(true)
	return append(p.e.ShutdownNow(), held...)
}

// Stats returns a snapshot of the pool's metrics, with the late-task
// counters in its Priority section.
func (p *DeadlinePool[T]) Stats() poolrt.Stats {
	st := p.e.Stats()
	p.later.AddStats(&st)
	return st
}
