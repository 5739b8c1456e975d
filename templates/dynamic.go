package templates

import (
	"context"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolimpl"
)

// DynamicPool runs tasks of type T on a number of worker goroutines that
// follows the load, between a minimum and a maximum, fed by a bounded,
// sharded queue.
//
// A controller goroutine measures the pool every poolrt.ScaleInterval —
// queue depth, worker utilization, arrivals, completions, mean run time,
// idle workers — and asks a scaling policy for a size: by default a
// poolrt.ThresholdPolicy (scale up on a deep queue or busy workers, down
// when both are low, with hysteresis and a cooldown); poolrt.Predictive
// sizes the pool by Little's law from a forecast of the arrival rate;
// poolrt.ScaleWith takes a policy of your own; poolrt.IdleTimeout retires
// idle workers. Under the threshold policy, when more tasks wait than the
// pool has workers and none of them is idle, it also evaluates early, at
// most every interval/64 (at least 1 ms), and then only to grow: a burst
// doubles a default pool every few milliseconds. Every change is
// recorded, with the measurements it was based on, in Stats().Scaling.
//
// New workers start at once; workers above a smaller size retire as soon
// as they run out of work, so a shrinking pool finishes what its workers
// hold. With a minimum of zero the pool keeps no goroutine while quiet,
// and a submission starts a worker at once.
//
// Apart from its size it behaves as a FixedPool: tasks are stored by value
// in preallocated slots, submitting and running one allocates nothing,
// every accepted task runs exactly once or is returned by ShutdownNow, and
// a task that panics is recovered, counted and reported (poolrt.OnPanic)
// while its worker is replaced.
//
// A DynamicPool is safe for concurrent use. Create one with
// NewDynamicPool. Its methods must not be called from inside a task's Run:
// Shutdown and ShutdownNow would wait for the calling task itself.
type DynamicPool[T Task] struct {
	p     poolimpl.Dynamic[T]
	later poolimpl.Later[T]
}

// NewDynamicPool starts a pool configured by opts: poolrt.WorkerLimits
// (default 1 to GOMAXPROCS; the pool starts at the minimum),
// poolrt.ScaleInterval, poolrt.Cooldown, poolrt.IdleTimeout, a policy
// (poolrt.Thresholds, poolrt.Predictive or poolrt.ScaleWith), and the
// options every pool takes: poolrt.QueueSize, poolrt.OnFull,
// poolrt.OnPanic, poolrt.OnError, poolrt.Metrics and
// poolrt.LatencySampling. The default QueueSize follows the maximum. A bad
// option is reported as a *poolrt.ConfigError and no goroutine is started.
func NewDynamicPool[T Task](opts ...poolrt.Option) (*DynamicPool[T], error) {
	p := new(DynamicPool[T])
	if err := p.p.Init(opts, batchLane[T]()); err != nil {
		return nil, err
	}
	return p, nil
}

// Submit queues t, waiting while the queue is full (under the default
// poolrt.Block policy) until there is room, ctx is done (ctx's error is
// returned) or the pool shuts down (poolrt.ErrClosed). Under poolrt.Reject
// it returns poolrt.ErrQueueFull instead of waiting; under
// poolrt.CallerRuns it runs t on the calling goroutine. ctx only bounds the
// wait: the task runs with the pool's context. A pool scaled down to no
// worker starts one.
func (p *DynamicPool[T]) Submit(ctx context.Context, t T) error { return p.p.Submit(ctx, t) }

// TrySubmit queues t if there is room and never blocks: it returns
// poolrt.ErrQueueFull when the queue is full and poolrt.ErrClosed after
// shutdown, whatever the backpressure policy. A pool scaled down to no
// worker starts one.
func (p *DynamicPool[T]) TrySubmit(t T) error { return p.p.TrySubmit(t) }

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
func (p *DynamicPool[T]) SubmitWait(ctx context.Context, t T) error { return p.p.SubmitWait(ctx, t) }

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
func (p *DynamicPool[T]) SubmitAfter(d time.Duration, t T) error {
	return p.later.SubmitAfter(d, t, p, &p.p)
}

// SubmitAt queues t to be submitted at time at, as SubmitAfter does
// with the time left until at.
func (p *DynamicPool[T]) SubmitAt(at time.Time, t T) error {
	return p.later.SubmitAt(at, t, p, &p.p)
}

// Closed reports whether the pool has stopped accepting tasks (Shutdown
// or ShutdownNow was called), without submitting one.
func (p *DynamicPool[T]) Closed() bool { return p.p.Closed() }

// Shutdown stops intake, lets the workers finish every queued task and
// waits for them and the controller to exit. Submit and TrySubmit return
// poolrt.ErrClosed from the moment Shutdown is called, and so does
// SetLimits; while the queue drains the controller may still grow the pool
// (never shrink it), so that a backlog drains at the pool's full size. If
// ctx is done first, Shutdown returns ctx's error while the pool goes on
// draining; ShutdownNow then stops it. Tasks running on submitters'
// goroutines under poolrt.CallerRuns are the submitters' own: Shutdown
// does not wait for them.
func (p *DynamicPool[T]) Shutdown(ctx context.Context) error {
	p.later.Stop(false)
	return p.p.Shutdown(ctx)
}

// ShutdownNow stops intake and the controller, cancels the context passed
// to running tasks, waits for the workers to finish their current task and
// for every goroutine of the pool to exit, and returns every accepted task
// that never started, roughly oldest first. Only the first call returns
// tasks.
func (p *DynamicPool[T]) ShutdownNow() []T {
	held := p.later.Stop(true)
	return append(p.p.ShutdownNow(), held...)
}

// SetLimits changes the pool's worker limits at run time; the pool resizes
// at once if its size is outside them, and the controller scales within
// them from then on. It returns a *poolrt.ConfigError for limits that
// cannot work — min < 0, max < 1, min > max, or max above the maximum the
// pool was created with (its worker slots) — and poolrt.ErrClosed after
// shutdown.
func (p *DynamicPool[T]) SetLimits(min, max int) error { return p.p.SetLimits(min, max) }

// Limits returns the pool's current worker limits.
func (p *DynamicPool[T]) Limits() (min, max int) { return p.p.Limits() }

// Size returns the number of workers the pool runs or is scaling to.
// Stats().Workers, the goroutines alive, may exceed it for a while after
// the pool shrinks, until the retiring workers finish what they hold.
func (p *DynamicPool[T]) Size() int { return p.p.Size() }

// Stats returns a snapshot of the pool's metrics; Stats().Scaling holds
// the scaling figures and the latest changes of size.
func (p *DynamicPool[T]) Stats() poolrt.Stats {
	st := p.p.Stats()
	p.later.AddStats(&st)
	return st
}
