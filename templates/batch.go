package templates

import (
	"context"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolimpl"
)

// BatchPool gathers tasks into batches and hands each batch to one call of
// a handler, on a fixed number of worker goroutines. A batch is handed over
// when it holds poolrt.MaxBatch tasks, when poolrt.Linger has passed since
// its first task arrived, or at Shutdown; nothing is left behind.
//
// Tasks are grouped by their BatchKey: each batch holds tasks of one key,
// in submission order. A batch whose handler fails is reported to
// poolrt.OnError as a *poolrt.BatchError holding a copy of its tasks, and a
// panicking handler is recovered and reported to poolrt.OnPanic with them:
// no task is dropped silently. Counters count tasks (a batch of 8 that
// fails adds 8 to Failed); Stats.Batch counts batches, their sizes and why
// they were flushed; Stats.Wait is a batch's wait, from its first task's
// arrival to the handler call.
//
// Every accepted task waits in a slot of an arena allocated with the pool
// (QueueSize slots, a batch being a chain of slots), and each worker hands
// its batch to the handler from a buffer of its own, so the pool allocates
// nothing per task or per batch, ever; memory is bounded by QueueSize and
// MaxBatch. Submit is O(1) under one lock: a map lookup by key and a link.
//
// A BatchPool is safe for concurrent use. Create one with NewBatchPool.
type BatchPool[T Keyed[K], K comparable] struct {
	p      poolimpl.Batch[T, K]
	handle BatchHandler[T]
	later  poolimpl.Later[T]
}

// NewBatchPool starts a pool that hands batches to handle, configured by
// opts: poolrt.MaxBatch, poolrt.Linger, poolrt.Workers (default
// GOMAXPROCS), poolrt.QueueSize (accepted tasks not yet handed over, at
// least MaxBatch), poolrt.OnFull, poolrt.OnPanic, poolrt.OnError and
// poolrt.Metrics. A nil handler or a bad option is a *poolrt.ConfigError
// and no goroutine is started.
func NewBatchPool[T Keyed[K], K comparable](handle BatchHandler[T], opts ...poolrt.Option) (*BatchPool[T, K], error) {
	if handle == nil {
		return nil, &poolrt.ConfigError{Option: "handler", Reason: "the batch handler is nil"}
	}
	p := &BatchPool[T, K]{handle: handle}
	if err := p.p.Init(opts, p.run); err != nil {
		return nil, err
	}
	return p, nil
}

// run hands a batch to the handler.
func (p *BatchPool[T, K]) run(ctx context.Context, batch []T) error { return p.handle(ctx, batch) }

// Submit adds t to the open batch of its key (opening one if there is
// none), waiting while the pool holds QueueSize tasks not yet handed over
// (under the default poolrt.Block policy) until there is room, ctx is done
// or the pool shuts down (poolrt.ErrClosed). Under poolrt.Reject it returns
// poolrt.ErrQueueFull instead; under poolrt.CallerRuns it hands a batch of
// t alone to the handler on the calling goroutine.
func (p *BatchPool[T, K]) Submit(ctx context.Context, t T) error {
	if p.p.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.p.Submit(ctx, t, t.BatchKey())
}

// TrySubmit adds t if there is room and never blocks: it returns
// poolrt.ErrQueueFull when the pool is full and poolrt.ErrClosed after
// shutdown, whatever the backpressure policy.
func (p *BatchPool[T, K]) TrySubmit(t T) error {
	if p.p.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.p.TrySubmit(t, t.BatchKey())
}

// SubmitWait adds t as Submit does and waits for the batch that holds it to
// be handled: it returns the handler's error for that batch, a
// *poolrt.PanicError if the handler panicked, poolrt.ErrClosed if
// ShutdownNow handed t back unhandled, or the error Submit returns if t was
// not accepted. ctx bounds both waits, for room and for the outcome: if it
// ends after t was accepted, SubmitWait returns ctx's error and t is still
// handled. A failed batch all of whose submitters wait for it is reported to
// them, not to poolrt.OnError. It allocates nothing in steady state.
func (p *BatchPool[T, K]) SubmitWait(ctx context.Context, t T) error {
	if p.p.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.p.SubmitWait(ctx, t, t.BatchKey())
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
func (p *BatchPool[T, K]) SubmitAfter(d time.Duration, t T) error {
	return p.later.SubmitAfter(d, t, p, &p.p)
}

// SubmitAt queues t to be submitted at time at, as SubmitAfter does
// with the time left until at.
func (p *BatchPool[T, K]) SubmitAt(at time.Time, t T) error {
	return p.later.SubmitAt(at, t, p, &p.p)
}

// Closed reports whether the pool has stopped accepting tasks (Shutdown
// or ShutdownNow was called), without submitting one.
func (p *BatchPool[T, K]) Closed() bool { return p.p.Closed() }

// Shutdown stops intake, hands every open batch over at once (however
// small), lets the workers handle every batch and waits for them to exit.
// If ctx is done first, Shutdown returns ctx's error while the pool goes
// on draining; ShutdownNow then stops it.
func (p *BatchPool[T, K]) Shutdown(ctx context.Context) error {
	p.later.Stop(false)
	return p.p.Shutdown(ctx)
}

// ShutdownNow stops intake, cancels the context passed to running
// handlers, waits for them to return and the workers to exit, and returns
// every accepted task never handed over, oldest batch first. Only the
// first call returns tasks.
func (p *BatchPool[T, K]) ShutdownNow() []T {
	held := p.later.Stop(true)
	return append(p.p.ShutdownNow(), held...)
}

// Stats returns a snapshot of the pool's metrics; Stats.Batch holds the
// batch counters.
func (p *BatchPool[T, K]) Stats() poolrt.Stats {
	st := p.p.Stats()
	p.later.AddStats(&st)
	return st
}
