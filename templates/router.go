package templates

import (
	"context"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolimpl"
)

// Router sends each task of type T to the pool of its class, the value its
// Class method returns (or its field tagged `poolgen:"class"`). Each class
// has a pool of its own, of any pattern and configuration — a FixedPool
// of two workers for tiny tasks, a DynamicPool of up to a hundred for
// tasks that wait on I/O, a PriorityPool, a BatchPool — so that a class
// whose tasks are slow or many never holds up another's: each class has
// its own workers and queue, and a full queue blocks (or rejects) only
// submissions of its class. A task of a class no route names goes to the
// default route, or is refused with poolrt.ErrUnknownClass when there is
// none.
//
// With poolrt.Lend the classes whose pools are DynamicPools share a
// budget of workers: every poolrt.LendEvery the router measures each
// class's demand (busy workers plus queued tasks) and moves the workers
// that idle classes do not need, down to each class's Min, to the
// classes with work waiting, by changing their pools' limits (SetLimits);
// classes that together want more than the budget share it above their
// Mins in proportion to their demand, so their backlogs drain at the same
// pace. When a workload's mix shifts from one class to another, the
// capacity follows it.
//
// Every accepted task runs exactly once in its class's pool, or is
// returned by ShutdownNow. Stats adds the classes' figures up and lists
// each class's own (poolrt.RouterStats).
//
// A Router is safe for concurrent use. Create one with NewRouter. Its
// methods must not be called from inside a task's Run: Shutdown and
// ShutdownNow would wait for the calling task itself.
type Router[T Classed[C], C comparable] struct {
	r poolimpl.Router[T, C]
}

// RouterPool is the pool of one class of a Router: any pool of this
// package (or one that poolgen generated) for the task type.
type RouterPool[T any] interface {
	Submit(ctx context.Context, t T) error
	TrySubmit(t T) error
	SubmitAfter(d time.Duration, t T) error
	SubmitAt(at time.Time, t T) error
	SubmitWait(ctx context.Context, t T) error
	Closed() bool
	Shutdown(ctx context.Context) error
	ShutdownNow() []T
	Stats() poolrt.Stats
}

// RouterClass is one route of a Router: the class, and the pool that runs
// its tasks. Min is the number of workers the class keeps when the
// router lends (poolrt.Lend; its pool must then be a DynamicPool); a
// lent class keeps at least one. Default makes the route take the tasks
// of the classes no route names; at most one route is the default.
type RouterClass[T Classed[C], C comparable] struct {
	Class   C
	Pool    RouterPool[T]
	Min     int
	Default bool
}

// NewRouter returns a router over routes, configured by opts: poolrt.Lend
// and poolrt.LendEvery. It reports a bad route (no pool, a class or pool
// given twice, two default routes, a Min that cannot work) or option as a
// *poolrt.ConfigError. The router owns the routes' pools from the call on:
// its Shutdown and ShutdownNow shut them down, and on an error NewRouter
// stops them (ShutdownNow).
func NewRouter[T Classed[C], C comparable](routes []RouterClass[T, C], opts ...poolrt.RouterOption) (*Router[T, C], error) {
	r := new(Router[T, C])
	rs := make([]poolimpl.Route[T, C], len(routes))
	for i, rt := range routes {
		rs[i] = poolimpl.Route[T, C]{Class: rt.Class, Pool: rt.Pool, Min: rt.Min, Default: rt.Default}
	}
	if err := r.r.Init(rs, opts); err != nil {
		return nil, err
	}
	return r, nil
}

// Submit sends t to the pool of its class and returns what that pool's
// Submit returns: it waits there while the class's queue is full (under
// poolrt.Block), whatever the other classes' queues hold. It returns
// poolrt.ErrUnknownClass for a class no route names when there is no
// default route, and poolrt.ErrClosed once the router shuts down.
func (r *Router[T, C]) Submit(ctx context.Context, t T) error {
	if r.r.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return r.r.Submit(ctx, t.Class(), t)
}

// TrySubmit sends t to the pool of its class without blocking: it returns
// poolrt.ErrQueueFull when the class's queue is full, and otherwise the
// errors Submit returns.
func (r *Router[T, C]) TrySubmit(t T) error {
	if r.r.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return r.r.TrySubmit(t.Class(), t)
}

// SubmitWait sends t to the pool of its class as Submit does and waits
// for it to end, returning what that pool's SubmitWait returns.
func (r *Router[T, C]) SubmitWait(ctx context.Context, t T) error {
	if r.r.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return r.r.SubmitWait(ctx, t.Class(), t)
}

// SubmitAfter has the pool of t's class schedule t to be submitted
// after d, as that pool's SubmitAfter does: its queue bounds the tasks
// waiting, and its Shutdown cancels them or its ShutdownNow returns them.
// It returns poolrt.ErrClosed once the router is shut down and
// poolrt.ErrUnknownClass for a class no route takes.
func (r *Router[T, C]) SubmitAfter(d time.Duration, t T) error {
	if r.r.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return r.r.SubmitAfter(d, t.Class(), t)
}

// SubmitAt has the pool of t's class schedule t to be submitted at time
// at, as SubmitAfter does with the time left until at.
func (r *Router[T, C]) SubmitAt(at time.Time, t T) error {
	if r.r.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return r.r.SubmitAt(at, t.Class(), t)
}

// Closed reports whether the router has stopped accepting tasks (Shutdown
// or ShutdownNow was called).
func (r *Router[T, C]) Closed() bool { return r.r.Closed() }

// Shutdown stops intake and lending, then shuts every class's pool down
// with ctx: each finishes its queued tasks. It returns the first error, ctx's if
// it is done first; ShutdownNow then stops what is still draining.
func (r *Router[T, C]) Shutdown(ctx context.Context) error { return r.r.Shutdown(ctx) }

// ShutdownNow stops intake and lending and every class's pool as the
// pool's ShutdownNow does, and returns every accepted task that never
// started, class by class in route order. Only the first call returns
// tasks.
func (r *Router[T, C]) ShutdownNow() []T { return r.r.ShutdownNow() }

// Stats returns the sums of the classes' counters and gauges, with each
// class's own Stats and the lending figures (poolrt.RouterStats). The
// total's latency percentiles are read off the classes' merged
// poolrt.Latency Buckets (within a factor of 1.5); each class's are its
// pool's own.
func (r *Router[T, C]) Stats() poolrt.Stats { return r.r.Stats() }
