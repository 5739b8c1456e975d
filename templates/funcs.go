package templates

import (
	"context"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolimpl"
)

// The pools of this file read a task's rank, batch key, tenant or class
// through a function given to their constructor, rather than through a
// method of the task: they serve task types that have no Priority,
// Deadline, Cost, BatchKey, Tenant or Class method, such as a type whose
// rank is a struct field tagged for poolgen (the tags are read by
// generated pools only). Each is its method-based pool (or router) with
// one indirect call per Submit; everything else (ordering, aging, late
// tasks, batching, fair sharing, routing and lending, shutdown, Stats) is
// the same engine in package poolimpl. The generator never emits this
// file: a generated pool reads a tagged field or calls the method
// directly.

// PriorityFuncPool is a PriorityPool for any Task: it reads each task's
// priority with the function given to NewPriorityFuncPool, once, when the
// task is submitted, instead of calling a Priority method. A higher
// priority runs first, in submission order among equal priorities; the
// order, aging, bands and guarantees are PriorityPool's.
//
// A PriorityFuncPool is safe for concurrent use. Its methods must not be
// called from inside a task's Run: Shutdown and ShutdownNow would wait for
// the calling task itself.
type PriorityFuncPool[T Task] struct {
	e        poolimpl.Rank[T]
	priority func(T) int64
	later    poolimpl.Later[T]
}

// NewPriorityFuncPool starts a pool that ranks tasks by priority(t), which
// must not block and must return the same value for a task every time; a
// method expression such as Job.Priority will do, as will a func literal
// that reads a field. opts are NewPriorityPool's. A nil priority or a bad
// option is a *poolrt.ConfigError and no goroutine is started.
func NewPriorityFuncPool[T Task](priority func(T) int64, opts ...poolrt.Option) (*PriorityFuncPool[T], error) {
	if priority == nil {
		return nil, &poolrt.ConfigError{Option: "priority", Reason: "the priority function is nil"}
	}
	p := &PriorityFuncPool[T]{priority: priority}
	if err := p.e.Init(poolrt.ByPriority, opts, rankLane[T](), nil, nil); err != nil {
		return nil, err
	}
	return p, nil
}

// Submit queues t by its priority as PriorityPool.Submit does: under the
// default poolrt.Block policy it waits for room until ctx is done or the
// pool shuts down. ctx only bounds the wait: the task runs with the pool's
// context.
func (p *PriorityFuncPool[T]) Submit(ctx context.Context, t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.Submit(ctx, t, p.priority(t))
}

// TrySubmit queues t by its priority if there is room and never blocks, as
// PriorityPool.TrySubmit does.
func (p *PriorityFuncPool[T]) TrySubmit(t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.TrySubmit(t, p.priority(t))
}

// SubmitWait queues t and waits for its outcome, as PriorityPool.SubmitWait
// does.
func (p *PriorityFuncPool[T]) SubmitWait(ctx context.Context, t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.SubmitWait(ctx, t, p.priority(t))
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
func (p *PriorityFuncPool[T]) SubmitAfter(d time.Duration, t T) error {
	return p.later.SubmitAfter(d, t, p, &p.e)
}

// SubmitAt queues t to be submitted at time at, as SubmitAfter does
// with the time left until at.
func (p *PriorityFuncPool[T]) SubmitAt(at time.Time, t T) error {
	return p.later.SubmitAt(at, t, p, &p.e)
}

// Closed reports whether the pool has stopped accepting tasks, as
// PriorityPool.Closed does.
func (p *PriorityFuncPool[T]) Closed() bool { return p.e.Closed() }

// Shutdown stops intake, lets the workers finish every queued task (in
// priority order) and waits for them to exit, as PriorityPool.Shutdown
// does.
func (p *PriorityFuncPool[T]) Shutdown(ctx context.Context) error {
	p.later.Stop(false)
	return p.e.Shutdown(ctx)
}

// ShutdownNow stops the pool and returns every accepted task that never
// started, highest effective priority first, as PriorityPool.ShutdownNow
// does.
func (p *PriorityFuncPool[T]) ShutdownNow() []T {
	held := p.later.Stop(true)
	return append(p.e.ShutdownNow(), held...)
}

// Stats returns a snapshot of the pool's metrics, with the per-band
// figures in its Priority section.
func (p *PriorityFuncPool[T]) Stats() poolrt.Stats {
	st := p.e.Stats()
	p.later.AddStats(&st)
	return st
}

// DeadlineFuncPool is a DeadlinePool for any Task: it reads each task's
// deadline with the function given to NewDeadlineFuncPool, when the task
// is submitted (and again only to report a dropped task), instead of
// calling a Deadline method. The earliest deadline runs first; a zero
// time.Time means no deadline. Late tasks are handled as in DeadlinePool.
//
// A DeadlineFuncPool is safe for concurrent use. Its methods must not be
// called from inside a task's Run: Shutdown and ShutdownNow would wait for
// the calling task itself.
type DeadlineFuncPool[T Task] struct {
	e        poolimpl.Rank[T]
	deadline func(T) time.Time
	later    poolimpl.Later[T]
}

// NewDeadlineFuncPool starts a pool that orders tasks by deadline(t),
// which must not block and must return the same value for a task every
// time. late and opts are NewDeadlinePool's: late, if not nil, takes every
// task that is late when a worker takes it, in place of its Run. A nil
// deadline or a bad option is a *poolrt.ConfigError and no goroutine is
// started.
func NewDeadlineFuncPool[T Task](deadline func(T) time.Time, late func(T), opts ...poolrt.Option) (*DeadlineFuncPool[T], error) {
	if deadline == nil {
		return nil, &poolrt.ConfigError{Option: "deadline", Reason: "the deadline function is nil"}
	}
	p := &DeadlineFuncPool[T]{deadline: deadline}
	if err := p.e.Init(poolrt.ByDeadline, opts, rankLane[T](), deadline, late); err != nil {
		return nil, err
	}
	return p, nil
}

// Submit queues t by its deadline as DeadlinePool.Submit does: under the
// default poolrt.Block policy it waits for room until ctx is done or the
// pool shuts down. ctx only bounds the wait: the task runs with the pool's
// context.
func (p *DeadlineFuncPool[T]) Submit(ctx context.Context, t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.Submit(ctx, t, p.e.DeadlineKey(p.deadline(t)))
}

// TrySubmit queues t by its deadline if there is room and never blocks, as
// DeadlinePool.TrySubmit does.
func (p *DeadlineFuncPool[T]) TrySubmit(t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.TrySubmit(t, p.e.DeadlineKey(p.deadline(t)))
}

// SubmitWait queues t and waits for its outcome, as DeadlinePool.SubmitWait
// does.
func (p *DeadlineFuncPool[T]) SubmitWait(ctx context.Context, t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.SubmitWait(ctx, t, p.e.DeadlineKey(p.deadline(t)))
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
func (p *DeadlineFuncPool[T]) SubmitAfter(d time.Duration, t T) error {
	return p.later.SubmitAfter(d, t, p, &p.e)
}

// SubmitAt queues t to be submitted at time at, as SubmitAfter does
// with the time left until at.
func (p *DeadlineFuncPool[T]) SubmitAt(at time.Time, t T) error {
	return p.later.SubmitAt(at, t, p, &p.e)
}

// Closed reports whether the pool has stopped accepting tasks, as
// DeadlinePool.Closed does.
func (p *DeadlineFuncPool[T]) Closed() bool { return p.e.Closed() }

// Shutdown stops intake, lets the workers finish every queued task (in
// deadline order, late ones under the late policy) and waits for them to
// exit, as DeadlinePool.Shutdown does.
func (p *DeadlineFuncPool[T]) Shutdown(ctx context.Context) error {
	p.later.Stop(false)
	return p.e.Shutdown(ctx)
}

// ShutdownNow stops the pool and returns every accepted task that never
// started, earliest deadline first, as DeadlinePool.ShutdownNow does.
func (p *DeadlineFuncPool[T]) ShutdownNow() []T {
	held := p.later.Stop(true)
	return append(p.e.ShutdownNow(), held...)
}

// Stats returns a snapshot of the pool's metrics, with the late-task
// counters in its Priority section.
func (p *DeadlineFuncPool[T]) Stats() poolrt.Stats {
	st := p.e.Stats()
	p.later.AddStats(&st)
	return st
}

// CostFuncPool is a CostPool for any Task: it reads each task's cost with
// the function given to NewCostFuncPool, once, when the task is submitted,
// instead of calling a Cost method. The cheapest task runs first
// (shortest job first), in submission order among equal costs; the order,
// aging, bands and guarantees are CostPool's.
//
// A CostFuncPool is safe for concurrent use. Its methods must not be
// called from inside a task's Run: Shutdown and ShutdownNow would wait for
// the calling task itself.
type CostFuncPool[T Task] struct {
	e     poolimpl.Rank[T]
	cost  func(T) int64
	later poolimpl.Later[T]
}

// NewCostFuncPool starts a pool that orders tasks by cost(t), which must
// not block and must return the same value for a task every time. opts are
// NewCostPool's. A nil cost or a bad option is a *poolrt.ConfigError and
// no goroutine is started.
func NewCostFuncPool[T Task](cost func(T) int64, opts ...poolrt.Option) (*CostFuncPool[T], error) {
	if cost == nil {
		return nil, &poolrt.ConfigError{Option: "cost", Reason: "the cost function is nil"}
	}
	p := &CostFuncPool[T]{cost: cost}
	if err := p.e.Init(poolrt.ByCost, opts, rankLane[T](), nil, nil); err != nil {
		return nil, err
	}
	return p, nil
}

// Submit queues t by its cost as CostPool.Submit does: under the default
// poolrt.Block policy it waits for room until ctx is done or the pool
// shuts down. ctx only bounds the wait: the task runs with the pool's
// context.
func (p *CostFuncPool[T]) Submit(ctx context.Context, t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.Submit(ctx, t, p.cost(t))
}

// TrySubmit queues t by its cost if there is room and never blocks, as
// CostPool.TrySubmit does.
func (p *CostFuncPool[T]) TrySubmit(t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.TrySubmit(t, p.cost(t))
}

// SubmitWait queues t and waits for its outcome, as CostPool.SubmitWait
// does.
func (p *CostFuncPool[T]) SubmitWait(ctx context.Context, t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.SubmitWait(ctx, t, p.cost(t))
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
func (p *CostFuncPool[T]) SubmitAfter(d time.Duration, t T) error {
	return p.later.SubmitAfter(d, t, p, &p.e)
}

// SubmitAt queues t to be submitted at time at, as SubmitAfter does
// with the time left until at.
func (p *CostFuncPool[T]) SubmitAt(at time.Time, t T) error {
	return p.later.SubmitAt(at, t, p, &p.e)
}

// Closed reports whether the pool has stopped accepting tasks, as
// CostPool.Closed does.
func (p *CostFuncPool[T]) Closed() bool { return p.e.Closed() }

// Shutdown stops intake, lets the workers finish every queued task (in
// cost order) and waits for them to exit, as CostPool.Shutdown does.
func (p *CostFuncPool[T]) Shutdown(ctx context.Context) error {
	p.later.Stop(false)
	return p.e.Shutdown(ctx)
}

// ShutdownNow stops the pool and returns every accepted task that never
// started, lowest effective cost first, as CostPool.ShutdownNow does.
func (p *CostFuncPool[T]) ShutdownNow() []T {
	held := p.later.Stop(true)
	return append(p.e.ShutdownNow(), held...)
}

// Stats returns a snapshot of the pool's metrics, with the per-band
// figures in its Priority section.
func (p *CostFuncPool[T]) Stats() poolrt.Stats {
	st := p.e.Stats()
	p.later.AddStats(&st)
	return st
}

// BatchFuncPool is a BatchPool for any task type: it reads each task's
// batch key with the function given to NewBatchFuncPool, once, when the
// task is submitted, instead of calling a BatchKey method. Tasks of equal
// key go into the same batch, in submission order; batching, flushing,
// failure reports and the allocation-free arena are BatchPool's.
//
// A BatchFuncPool is safe for concurrent use.
type BatchFuncPool[T any, K comparable] struct {
	p     poolimpl.Batch[T, K]
	key   func(T) K
	later poolimpl.Later[T]
}

// NewBatchFuncPool starts a pool that groups tasks by key(t), which must
// not block and must return the same value for a task every time, and
// hands batches to handle. opts are NewBatchPool's. A nil key or handler,
// or a bad option, is a *poolrt.ConfigError and no goroutine is started.
func NewBatchFuncPool[T any, K comparable](key func(T) K, handle BatchHandler[T], opts ...poolrt.Option) (*BatchFuncPool[T, K], error) {
	if key == nil {
		return nil, &poolrt.ConfigError{Option: "key", Reason: "the batch key function is nil"}
	}
	if handle == nil {
		return nil, &poolrt.ConfigError{Option: "handler", Reason: "the batch handler is nil"}
	}
	p := &BatchFuncPool[T, K]{key: key}
	if err := p.p.Init(opts, handle); err != nil {
		return nil, err
	}
	return p, nil
}

// Submit adds t to the open batch of its key as BatchPool.Submit does:
// under the default poolrt.Block policy it waits for room until ctx is
// done or the pool shuts down. ctx only bounds the wait: the handler runs
// with the pool's context.
func (p *BatchFuncPool[T, K]) Submit(ctx context.Context, t T) error {
	if p.p.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.p.Submit(ctx, t, p.key(t))
}

// TrySubmit adds t if there is room and never blocks, as
// BatchPool.TrySubmit does.
func (p *BatchFuncPool[T, K]) TrySubmit(t T) error {
	if p.p.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.p.TrySubmit(t, p.key(t))
}

// SubmitWait queues t and waits for its outcome, as BatchPool.SubmitWait
// does.
func (p *BatchFuncPool[T, K]) SubmitWait(ctx context.Context, t T) error {
	if p.p.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.p.SubmitWait(ctx, t, p.key(t))
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
func (p *BatchFuncPool[T, K]) SubmitAfter(d time.Duration, t T) error {
	return p.later.SubmitAfter(d, t, p, &p.p)
}

// SubmitAt queues t to be submitted at time at, as SubmitAfter does
// with the time left until at.
func (p *BatchFuncPool[T, K]) SubmitAt(at time.Time, t T) error {
	return p.later.SubmitAt(at, t, p, &p.p)
}

// Closed reports whether the pool has stopped accepting tasks, as
// BatchPool.Closed does.
func (p *BatchFuncPool[T, K]) Closed() bool { return p.p.Closed() }

// Shutdown stops intake, hands every open batch over at once (however
// small), lets the workers handle every batch and waits for them to exit,
// as BatchPool.Shutdown does.
func (p *BatchFuncPool[T, K]) Shutdown(ctx context.Context) error {
	p.later.Stop(false)
	return p.p.Shutdown(ctx)
}

// ShutdownNow stops the pool and returns every accepted task never handed
// over, oldest batch first, as BatchPool.ShutdownNow does.
func (p *BatchFuncPool[T, K]) ShutdownNow() []T {
	held := p.later.Stop(true)
	return append(p.p.ShutdownNow(), held...)
}

// Stats returns a snapshot of the pool's metrics; Stats.Batch holds the
// batch counters.
func (p *BatchFuncPool[T, K]) Stats() poolrt.Stats {
	st := p.p.Stats()
	p.later.AddStats(&st)
	return st
}

// FairFuncPool is a FairPool for any Task: it reads each task's tenant
// with the function given to NewFairFuncPool, once, when the task is
// submitted, instead of calling a Tenant method. The sharing of worker
// time by weight, the per-tenant queues and the guarantees are
// FairPool's.
//
// A FairFuncPool is safe for concurrent use. Its methods must not be
// called from inside a task's Run: Shutdown and ShutdownNow would wait for
// the calling task itself.
type FairFuncPool[T Task, K comparable] struct {
	e      poolimpl.Fair[T, K]
	tenant func(T) K
	later  poolimpl.Later[T]
}

// NewFairFuncPool starts a pool that shares its workers between the
// tenants tenant(t) returns, which must not block and must return the same
// value for a task every time. opts are NewFairPool's. A nil tenant or a
// bad option is a *poolrt.ConfigError and no goroutine is started.
func NewFairFuncPool[T Task, K comparable](tenant func(T) K, opts ...poolrt.Option) (*FairFuncPool[T, K], error) {
	if tenant == nil {
		return nil, &poolrt.ConfigError{Option: "tenant", Reason: "the tenant function is nil"}
	}
	p := &FairFuncPool[T, K]{tenant: tenant}
	if err := p.e.Init(opts, fairLane[T]()); err != nil {
		return nil, err
	}
	return p, nil
}

// Submit queues t in its tenant's queue as FairPool.Submit does: under
// the default poolrt.Block policy it waits while that queue or the pool's
// is full until there is room, ctx is done or the pool shuts down. ctx only
// bounds the wait: the task runs with the pool's context.
func (p *FairFuncPool[T, K]) Submit(ctx context.Context, t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.Submit(ctx, t, p.tenant(t))
}

// TrySubmit queues t if its tenant's queue and the pool's have room and
// never blocks, as FairPool.TrySubmit does.
func (p *FairFuncPool[T, K]) TrySubmit(t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.TrySubmit(t, p.tenant(t))
}

// SubmitWait queues t and waits for its outcome, as FairPool.SubmitWait
// does.
func (p *FairFuncPool[T, K]) SubmitWait(ctx context.Context, t T) error {
	if p.e.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return p.e.SubmitWait(ctx, t, p.tenant(t))
}

// SubmitAfter queues t to be submitted after d, as FairPool.SubmitAfter
// does.
func (p *FairFuncPool[T, K]) SubmitAfter(d time.Duration, t T) error {
	return p.later.SubmitAfter(d, t, p, &p.e)
}

// SubmitAt queues t to be submitted at time at, as FairPool.SubmitAt
// does.
func (p *FairFuncPool[T, K]) SubmitAt(at time.Time, t T) error {
	return p.later.SubmitAt(at, t, p, &p.e)
}

// Closed reports whether the pool has stopped accepting tasks, as
// FairPool.Closed does.
func (p *FairFuncPool[T, K]) Closed() bool { return p.e.Closed() }

// Shutdown stops intake, lets the workers finish every queued task (still
// sharing them by weight) and waits for them to exit, as
// FairPool.Shutdown does; it cancels the scheduled tasks not yet due.
func (p *FairFuncPool[T, K]) Shutdown(ctx context.Context) error {
	p.later.Stop(false)
	return p.e.Shutdown(ctx)
}

// ShutdownNow stops the pool and returns every accepted task that never
// started, in the order the workers would have taken them, then the
// scheduled tasks not yet due, as FairPool.ShutdownNow does.
func (p *FairFuncPool[T, K]) ShutdownNow() []T {
	held := p.later.Stop(true)
	return append(p.e.ShutdownNow(), held...)
}

// Stats returns a snapshot of the pool's metrics, with the per-tenant
// figures in its Fair section.
func (p *FairFuncPool[T, K]) Stats() poolrt.Stats {
	st := p.e.Stats()
	p.later.AddStats(&st)
	return st
}

// FuncRouter is a Router for any task type: it reads each task's class
// with the function given to NewFuncRouter, once per submission, instead
// of calling a Class method. Routing, the default route, lending
// (poolrt.Lend), naming (poolrt.RouterName) and the guarantees are
// Router's. (It is not named RouterFunc, which would read as a function
// type.)
//
// A FuncRouter is safe for concurrent use. Its methods must not be called
// from inside a task's Run: Shutdown and ShutdownNow would wait for the
// calling task itself.
type FuncRouter[T any, C comparable] struct {
	r     poolimpl.Router[T, C]
	class func(T) C
}

// FuncRouterClass is one route of a FuncRouter, as RouterClass is of a
// Router: the class, the pool that runs its tasks, the workers it keeps
// when the router lends (Min) and whether it takes the classes no route
// names (Default).
type FuncRouterClass[T any, C comparable] struct {
	Class   C
	Pool    RouterPool[T]
	Min     int
	Default bool
}

// NewFuncRouter returns a router that sends each task t to the pool of
// class(t), which must not block and must return the same value for a
// task every time. routes and opts are NewRouter's, and so is the
// ownership of the routes' pools. A nil class, a bad route or a bad option
// is a *poolrt.ConfigError; the routes' pools are then stopped
// (ShutdownNow).
func NewFuncRouter[T any, C comparable](class func(T) C, routes []FuncRouterClass[T, C], opts ...poolrt.RouterOption) (*FuncRouter[T, C], error) {
	rs := make([]poolimpl.Route[T, C], len(routes))
	for i, rt := range routes {
		rs[i] = poolimpl.Route[T, C]{Class: rt.Class, Pool: rt.Pool, Min: rt.Min, Default: rt.Default}
	}
	r := &FuncRouter[T, C]{class: class}
	if err := r.r.Init(rs, opts); err != nil {
		return nil, err
	}
	if class == nil {
		r.r.ShutdownNow() // stops the pools, as a refused route does
		return nil, &poolrt.ConfigError{Option: "class", Reason: "the class function is nil"}
	}
	return r, nil
}

// Submit sends t to the pool of its class as Router.Submit does.
func (r *FuncRouter[T, C]) Submit(ctx context.Context, t T) error {
	if r.r.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return r.r.Submit(ctx, r.class(t), t)
}

// TrySubmit sends t to the pool of its class without blocking, as
// Router.TrySubmit does.
func (r *FuncRouter[T, C]) TrySubmit(t T) error {
	if r.r.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return r.r.TrySubmit(r.class(t), t)
}

// SubmitWait sends t to the pool of its class and waits for it to end, as
// Router.SubmitWait does.
func (r *FuncRouter[T, C]) SubmitWait(ctx context.Context, t T) error {
	if r.r.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return r.r.SubmitWait(ctx, r.class(t), t)
}

// SubmitAfter has the pool of t's class schedule t to be submitted after
// d, as Router.SubmitAfter does.
func (r *FuncRouter[T, C]) SubmitAfter(d time.Duration, t T) error {
	if r.r.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return r.r.SubmitAfter(d, r.class(t), t)
}

// SubmitAt has the pool of t's class schedule t to be submitted at time
// at, as Router.SubmitAt does.
func (r *FuncRouter[T, C]) SubmitAt(at time.Time, t T) error {
	if r.r.Refuses(&t) {
		return poolrt.ErrNilTask
	}
	return r.r.SubmitAt(at, r.class(t), t)
}

// Closed reports whether the router has stopped accepting tasks, as
// Router.Closed does.
func (r *FuncRouter[T, C]) Closed() bool { return r.r.Closed() }

// Shutdown stops intake and lending and shuts every class's pool down
// with ctx, as Router.Shutdown does.
func (r *FuncRouter[T, C]) Shutdown(ctx context.Context) error { return r.r.Shutdown(ctx) }

// ShutdownNow stops intake and lending and every class's pool, and
// returns every accepted task that never started, class by class in
// route order, as Router.ShutdownNow does.
func (r *FuncRouter[T, C]) ShutdownNow() []T { return r.r.ShutdownNow() }

// Stats returns the sums of the classes' counters and gauges, with each
// class's own Stats in the Router section, as Router.Stats does.
func (r *FuncRouter[T, C]) Stats() poolrt.Stats { return r.r.Stats() }
