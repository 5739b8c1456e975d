package poolimpl

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/breaker"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// Fair is the machinery of the fair pool (templates.FairPool documents
// it): tasks queued per tenant, a tenant's key of type K, and a fixed set
// of workers that take one task at a time from the tenant that fairSched
// (fair_sched.go) chooses, under one lock, with parking, panic recovery,
// shutdown and metrics as in the priority pool.
//
// Only the map from keys to tenants and the weights depend on K; the
// rest, which the workers run, is fairBase, generic in T alone, so that
// the lane's loop (Lane.Fair) takes a *FairWorker[T].
type Fair[T any, K comparable] struct {
	fairBase[T]
	ids     map[K]int32 // tenants taken up, by key; guarded by mu
	keys    []K         // by tenant id; guarded by mu
	weights map[K]int
	weightf func(K) int
}

// fairBase is the part of the fair pool that does not depend on the
// tenant's type.
type fairBase[T any] struct {
	mu     sync.Mutex
	sched  fairSched     // guarded by mu
	slots  []fairSlot[T] // by slot; guarded by mu
	closed bool          // guarded by mu: intake stopped
	// returned: ShutdownNow has handed the queued tasks back (guarded by mu).
	returned bool
	// waiters are the submitters blocked on a full queue, by tenant id,
	// in arrival order, and blocked the tenants that have some, in the
	// order they are admitted round robin from cursor (guarded by mu).
	waiters        [][]*fairWaiter[T]
	blocked        []int32
	cursor         int
	tenantRejected uint64 // guarded by mu
	// size mirrors sched.queued for lock-free emptiness checks.
	size atomic.Int32
	_    [CacheLinePad]byte

	life     Lifecycle
	sleep    *Sleepers
	meter    *Meter
	set      config.Settings
	limit    int  // a tenant's queue limit
	nilable  bool // T is a pointer type: nil tasks are refused
	workers  []*FairWorker[T]
	lane     Lane[T]
	hooks    taskHooks[T]
	timeouts timeouts[T]
	name     func(id int32) string // a tenant's key, for Stats
	// shed is load shedding, nil when off. Its limit is on the pool's
	// queue, all tenants together (poolrt.Shed).
	shed *Shedder
	// rt is the retry policy, dead letters and held tasks, nil when off.
	// A due retry goes back to its tenant's queue (requeue).
	rt *retries[fairRetry[T]]
	// attempts is the attempt number of the task in each slot, 0 for a
	// first run (guarded by mu); nil without rt.
	attempts []int32
}

// fairRetry is what the delay queue keeps of a task waiting to retry:
// its slot (without its completion handle, which the queue keeps) and
// its tenant, whose queue it goes back to. The tenant is not forgotten
// meanwhile (fairTenant.retrying).
type fairRetry[T any] struct {
	slot   fairSlot[T]
	tenant int32
}

// fairSlot is a queued task and what the pool noted when it was accepted.
type fairSlot[T any] struct {
	task  T
	enq   int64 // config.Clock stamp at submit; 0 if not timed
	timed bool  // sampled for the latency histograms
	// x is the completion handle of a task submitted with SubmitWait.
	x *Waiter
}

// fairWaiter is a submitter blocked on a full queue, with its task ready
// to queue.
type fairWaiter[T any] struct {
	slot fairSlot[T]
	// done receives the outcome once a worker admitted the task (nil) or
	// intake stopped (poolrt.ErrClosed); the waiter has left waiters then.
	done chan error
}

// FairWorker is one worker slot's state, and what the lane's Fair loop
// calls to run its tasks (see Lane). It lives in the engine, so that a
// replacement goroutine (after a panic) takes over its meters.
type FairWorker[T any] struct {
	e       *fairBase[T]
	id      int
	cur     fairSlot[T] // the task being run
	tenant  int32       // cur's tenant
	charged int64       // what the scheduler charged for cur, ns
	began   int64       // when cur started (every task: its run time is charged)
	running bool        // cur started and has not ended (First, Next)
	// ran is cur's run time once it ended, to charge at the next lock,
	// fairRefused when its circuit breaker turned it away (its charge is
	// given back at the next lock), or -1 when nothing is left to charge.
	ran int64
	// retried: cur went to the delay queue (a retry, a held task); its
	// tenant counts it at the next lock, with the charge.
	retried bool
	attempt int  // cur's attempt number (retries), or 0 for a first run
	hooking bool // in OnError, whose runtime.Goexit must not count cur again
	exiting bool
	meter   *WorkerMeter
	slice   Slice
	_       [CacheLinePad]byte
	region  taskRegion
	tc      *taskCtx       // the tasks' context when they may have a timeout, else nil
	tk      breaker.Ticket // the running task's circuit breaker ticket (breaker.go)
	// ctx is the tasks' context when it is not the pool's (a timeout's,
	// a resource's), else nil.
	ctx context.Context
	env *Env // pins the worker and holds its resource; nil without either
}

// fairRefused is a FairWorker's ran when its task did not run: its
// circuit breaker turned it away.
const fairRefused = -2

// Init starts a pool configured by opts, running tasks through lane, or
// returns a *poolrt.ConfigError and starts nothing.
func (e *Fair[T, K]) Init(opts []poolrt.Option, lane Lane[T]) error {
	set, err := config.Resolve(config.Fair, opts)
	if err != nil {
		return err
	}
	if w := set.Fair.Weights; w != nil {
		m, ok := w.(map[K]int)
		if !ok {
			return tenantTypeError[K](set.Fair.WeightsOption, reflect.TypeOf(w).Key())
		}
		e.weights = m
	}
	if f := set.Fair.WeightFunc; f != nil {
		wf, ok := f.(func(K) int)
		if !ok {
			return tenantTypeError[K](set.Fair.WeightFuncOption, reflect.TypeOf(f).In(0))
		}
		e.weightf = wf
	}
	e.set, e.lane = set, lane
	e.limit = set.Fair.TenantQueue
	e.timeouts = timeouts[T]{def: set.TaskTimeout, of: lane.Timeout}
	if e.hooks, err = resolveHooks[T](&e.set); err != nil {
		return err
	}
	e.ids = map[K]int32{}
	e.name = func(id int32) string { return fmt.Sprint(e.keys[id]) }
	e.meter = NewMeter(&e.set, set.Workers, 1)
	e.shed = e.meter.shedder(&e.set, &e.life, set.QueueSize, func() int { return int(e.size.Load()) })
	e.sleep = NewSleepers(set.Workers)
	if e.rt, err = newRetriesOf(&e.set, set.QueueSize, e.sleep.Wake, func(r *fairRetry[T]) *T { return &r.slot.task }); err != nil {
		return err
	}
	e.sched.init(set.QueueSize, e.forget)
	e.slots = make([]fairSlot[T], set.QueueSize)
	if e.rt != nil {
		e.attempts = make([]int32, set.QueueSize)
	}
	e.workers = make([]*FairWorker[T], set.Workers)
	e.life.Init(set.Workers)
	if err := e.life.Reserve(&e.set, config.Fair, taskName[T]()); err != nil {
		return err
	}
	e.nilable = Nilable[T]()
	for id := range e.workers {
		w := &FairWorker[T]{e: &e.fairBase, id: id, ran: -1, meter: e.meter.Worker(id), region: taskRegion{kind: e.life.region}}
		if e.timeouts.on() || e.rt != nil || e.set.Propagate != config.PropagateNone {
			w.tc = newTaskCtx(e.life.Context())
			w.ctx = w.tc
		}
		if env, ctx := e.life.NewEnv(id, w.Context()); env != nil {
			w.env, w.ctx = env, ctx
		}
		e.workers[id] = w
		w.meter.Start(e.meter.Now())
		go e.work(w)
	}
	e.life.List(e.meter, e.Stats, nil)
	return nil
}

// tenantTypeError is the error of a weights option for tenants of type
// got, given to a pool whose tenants are Ks.
func tenantTypeError[K comparable](option string, got reflect.Type) error {
	return &poolrt.ConfigError{Option: option,
		Reason: fmt.Sprintf("the weights are for tenants of type %v, the pool's are %v", got, reflect.TypeFor[K]())}
}

// Refuses reports whether t is a task the pool refuses: a nil pointer.
// Pools check before they read the tenant, which would read the task.
func (e *fairBase[T]) Refuses(t *T) bool { return e.nilable && IsNil(t) }

// tenantLocked returns the id of tenant k, taking it up if need be (e.mu
// is held).
func (e *Fair[T, K]) tenantLocked(k K) int32 {
	if id, ok := e.ids[k]; ok {
		return id
	}
	id := e.sched.takeUp(e.weightOf(k))
	e.ids[k] = id
	if int(id) == len(e.keys) {
		e.keys = append(e.keys, k)
		e.waiters = append(e.waiters, nil)
	} else {
		e.keys[id] = k
	}
	return id
}

// weightOf returns tenant k's weight.
func (e *Fair[T, K]) weightOf(k K) int {
	switch {
	case e.weights != nil:
		if w, ok := e.weights[k]; ok {
			return w
		}
	case e.weightf != nil:
		w := 1
		e.set.CallHook("TenantWeight", func() { w = e.weightf(k) })
		return min(max(w, 1), config.MaxTenantWeight)
	}
	return 1
}

// forget drops the key of tenant id, which the scheduler forgets.
func (e *Fair[T, K]) forget(id int32) {
	delete(e.ids, e.keys[id])
	var zero K
	e.keys[id] = zero
}

// prepare makes the slot for t, doing what needs no lock: the sampling
// draw and the clock read.
func (e *fairBase[T]) prepare(t T) fairSlot[T] {
	every := e.meter.SampleEvery
	timed := every == 1 || every > 1 && RandN(every) == 0
	var enq int64
	if timed {
		enq = e.meter.Now()
	}
	return fairSlot[T]{task: t, enq: enq, timed: timed}
}

// push queues a prepared task of tenant k unless its queue or the pool's
// is full, or the pool is closed: it returns nil, poolrt.ErrQueueFull or
// poolrt.ErrClosed. The tenant's blocked submitters go first: while any
// waits, its queue counts as full.
func (e *Fair[T, K]) push(slot fairSlot[T], k K) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return poolrt.ErrClosed
	}
	id := e.tenantLocked(k)
	if !e.roomLocked(id) {
		e.sched.settle(id) // taken up just now, perhaps
		return poolrt.ErrQueueFull
	}
	e.queueLocked(id, slot)
	return nil
}

// roomLocked reports whether tenant id may queue a new task now, and
// counts a refusal that its own queue's limit causes (e.mu is held).
// With retries, the pool's bound is on the tasks accepted and not ended:
// it takes the new task's token.
func (e *fairBase[T]) roomLocked(id int32) bool {
	pool, tenant := e.sched.room(id, e.limit)
	if pool && !tenant {
		e.tenantRejected++
	}
	return pool && tenant && e.sched.tenants[id].waiting == 0 && (e.rt == nil || e.rt.acquire())
}

// queueLocked queues a prepared slot of a new task for tenant id (e.mu
// is held, and there is room).
func (e *fairBase[T]) queueLocked(id int32, slot fairSlot[T]) {
	e.placeLocked(id, slot, 0)
	e.meter.Shards[0].Submitted.Add(1) // under mu: single writer
}

// placeLocked queues slot for tenant id, for attempt attempt (0: the
// first; e.mu is held, and there is room).
func (e *fairBase[T]) placeLocked(id int32, slot fairSlot[T], attempt int) {
	i := e.sched.push(id)
	e.slots[i] = slot
	if e.attempts != nil {
		e.attempts[i] = int32(attempt)
	}
	e.size.Store(int32(e.sched.queued))
}

// Submit is the pool's Submit for a task of tenant k.
func (e *Fair[T, K]) Submit(ctx context.Context, t T, k K) error {
	if e.set.Propagate != config.PropagateNone {
		// t carries ctx in a completion handle that no one waits for:
		// the worker that ends t recycles it.
		_, err := e.submitWaited(ctx, t, k, false)
		return err
	}
	if e.shed != nil && e.shed.Refuse(0) {
		return poolrt.ErrOverloaded
	}
	slot := e.prepare(t)
	err := e.push(slot, k)
	if err == nil {
		e.sleep.Wake()
		return nil
	}
	if err == poolrt.ErrClosed || e.life.State() != Open {
		return poolrt.ErrClosed
	}
	switch e.set.Backpressure {
	case poolrt.Reject:
		e.meter.Shards[0].Rejected.Add(1)
		return poolrt.ErrQueueFull
	case poolrt.CallerRuns:
		e.meter.Shards[0].CallerRuns.Add(1)
		RunOnCaller(e.life.Context(), t, e.lane.One, &e.hooks, e.meter, &e.timeouts)
		return nil
	}
	return e.wait(ctx, slot, k)
}

// SubmitWait is the pool's SubmitWait for a task of tenant k.
func (e *Fair[T, K]) SubmitWait(ctx context.Context, t T, k K) error {
	x, err := e.submitWaited(ctx, t, k, true)
	if x == nil {
		return err
	}
	return x.wait(ctx)
}

// submitWaited queues t, of tenant k, with a completion handle, as the
// feed's submitWaited does: it returns the handle to wait on if wait is
// set, or a nil handle and the outcome when there is nothing to wait for.
// Without wait, the handle only carries ctx to the worker.
func (e *Fair[T, K]) submitWaited(ctx context.Context, t T, k K, wait bool) (*Waiter, error) {
	if e.shed != nil && e.shed.Refuse(0) {
		return nil, poolrt.ErrOverloaded
	}
	slot := e.prepare(t)
	x := e.life.Waiter()
	if e.set.Propagate != config.PropagateNone {
		x.ctx = ctx
	}
	if !wait {
		x.state.Store(waiterAbandoned)
	}
	slot.x = x
	err := e.push(slot, k)
	if err == nil {
		e.sleep.Wake()
		return handle(x, wait), nil
	}
	if err == poolrt.ErrClosed || e.life.State() != Open {
		x.cancel()
		return nil, poolrt.ErrClosed
	}
	switch e.set.Backpressure {
	case poolrt.Reject:
		x.cancel()
		e.meter.Shards[0].Rejected.Add(1)
		return nil, poolrt.ErrQueueFull
	case poolrt.CallerRuns:
		x.cancel()
		e.meter.Shards[0].CallerRuns.Add(1)
		return nil, runOnSubmitter(e.life.Context(), ctx, e.set.Propagate, t, wait, e.lane.One, &e.hooks, e.meter, &e.timeouts)
	}
	if err := e.wait(ctx, slot, k); err != nil {
		x.cancel()
		return nil, err
	}
	return handle(x, wait), nil
}

// TrySubmit is the pool's TrySubmit for a task of tenant k.
func (e *Fair[T, K]) TrySubmit(t T, k K) error {
	if e.shed != nil && e.shed.Refuse(0) {
		return poolrt.ErrOverloaded
	}
	switch err := e.push(e.prepare(t), k); err {
	case nil:
		e.sleep.Wake()
		return nil
	case poolrt.ErrClosed:
		return err
	}
	if e.life.State() != Open {
		return poolrt.ErrClosed
	}
	e.meter.Shards[0].Rejected.Add(1)
	return poolrt.ErrQueueFull
}

// Closed is the pool's Closed.
func (e *fairBase[T]) Closed() bool { return e.life.Closed() }

// wait is submit under the Block policy once the tenant's queue or the
// pool's was full: it joins the tenant's waiters, whom workers admit as
// they free slots, until admitted, ctx is done or intake stops.
func (e *Fair[T, K]) wait(ctx context.Context, slot fairSlot[T], k K) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return poolrt.ErrClosed
	}
	id := e.tenantLocked(k)
	if pool, tenant := e.sched.room(id, e.limit); pool && tenant && e.sched.tenants[id].waiting == 0 && (e.rt == nil || e.rt.acquire()) {
		e.queueLocked(id, slot) // room was made meanwhile
		e.mu.Unlock()
		e.sleep.Wake()
		return nil
	}
	w := &fairWaiter[T]{slot: slot, done: make(chan error, 1)}
	if e.sched.tenants[id].waiting == 0 {
		e.blocked = append(e.blocked, id)
	}
	e.sched.tenants[id].waiting++
	e.waiters[id] = append(e.waiters[id], w)
	e.mu.Unlock()
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if i := slices.Index(e.waiters[id], w); i >= 0 {
		e.waiters[id] = slices.Delete(e.waiters[id], i, i+1)
		e.leaveLocked(id)
		return ctx.Err()
	}
	return <-w.done // admitted or refused just now: the outcome is sent
}

// leaveLocked records that a waiter of tenant id left its list (e.mu is
// held).
func (e *fairBase[T]) leaveLocked(id int32) {
	t := &e.sched.tenants[id]
	t.waiting--
	if t.waiting > 0 {
		return
	}
	i := slices.Index(e.blocked, id)
	e.blocked = slices.Delete(e.blocked, i, i+1)
	if e.cursor > i {
		e.cursor--
	}
	e.sched.settle(id)
}

// admitLocked queues the task of the first waiter of the next blocked
// tenant, round robin, that has room, if any (e.mu is held): with
// retries, it takes a token for it. It reports whether it did, and the
// caller wakes a worker for it.
func (e *fairBase[T]) admitLocked() bool {
	n := len(e.blocked)
	if n == 0 || len(e.sched.free) == 0 || e.rt != nil && !e.rt.acquire() {
		return false
	}
	for i := range n {
		at := (e.cursor + i) % n
		id := e.blocked[at]
		if int(e.sched.tenants[id].queued) >= e.limit {
			continue
		}
		w := e.waiters[id][0]
		e.waiters[id][0] = nil
		e.waiters[id] = e.waiters[id][1:]
		e.cursor = at + 1
		e.queueLocked(id, w.slot) // before leaving, so that id stays taken up
		e.leaveLocked(id)
		if e.cursor >= len(e.blocked) {
			e.cursor = 0
		}
		w.done <- nil
		return true
	}
	if e.rt != nil {
		e.rt.release()
	}
	return false
}

// work is a worker's goroutine: the lane's Fair loop runs its tasks
// (First, Next) until they find the pool stopping.
func (e *fairBase[T]) work(w *FairWorker[T]) {
	e.life.LabelWorker()
	defer e.workerExit(w)
	if w.env != nil && !e.life.StartWorker(w.env, func() bool { return !waitingLocked(&e.size, e.rt) && !retrying(e.rt) }, nil) {
		w.exiting = true
		return
	}
	e.lane.Fair(w)
}

// Context returns the context to pass to the worker's tasks: the pool's,
// canceled by ShutdownNow, or, when tasks have timeouts, the worker's
// context that carries the running task's deadline as well, and when
// workers have resources, one that answers the worker's.
func (w *FairWorker[T]) Context() context.Context {
	if w.ctx != nil {
		return w.ctx
	}
	return w.e.life.Context()
}

// First starts the next task and returns it, waiting for one if need be;
// it returns nil when the worker should exit. The lane calls it once,
// then Next after each task.
func (w *FairWorker[T]) First() *T {
	w.running = false // a task that panicked was ended by workerExit
	w.region.reset()
	return w.Next(nil)
}

// Next ends the task First or Next returned, which returned err, if it
// did not panic, and starts the next one, as First does.
func (w *FairWorker[T]) Next(err error) *T {
	e := w.e
	if w.running {
		w.running = false
		w.region.end()
		e.end(w, err)
	}
	for {
		// Give way, if the slice says so and a task waits, before
		// taking it: the task stays queued meanwhile, for an idle worker
		// to take, and the tenants are served by their shares as of the
		// take (see Worker.Next).
		if e.size.Load() > 0 {
			w.slice.Next(&e.meter.Clock, e.sleep)
		}
		if !e.next(w) {
			break
		}
		if g := e.hooks.brk; g != nil && !g.admit(&w.cur.task, &w.tk) {
			e.refuse(w, g)
			continue
		}
		w.began = e.meter.Now()
		if w.cur.timed {
			d := time.Duration(w.began - w.cur.enq)
			e.meter.Shards[0].Wait.Record(d)
			if e.shed != nil {
				e.shed.Observe(d, w.began)
			}
		}
		if w.tc != nil {
			w.tc.begin(e.timeouts.get(&w.cur.task), max(w.attempt, 1), w.cur.x.context(), e.set.Propagate == config.PropagateDeadline)
		}
		w.running = true
		w.region.begin(e.life.Context())
		return &w.cur.task
	}
	w.exiting = true
	return nil
}

// refuse ends the task w took, which its circuit breaker g turned away:
// it is held in the delay queue (poolrt.BreakerPolicy.Hold, while the
// pool is open and the breaker holds fewer than MaxHeld), to come back
// to its tenant's queue, or dead-lettered. Either way its tenant gets
// back what it was charged for it at the worker's next lock, as the task
// took no worker time.
func (e *fairBase[T]) refuse(w *FairWorker[T], g *gate[T]) {
	w.ran = fairRefused
	x := w.cur.x
	w.cur.x = nil // it travels with the task if held
	if g.g.Hold && e.life.State() == Open && e.rt.hold(fairRetry[T]{slot: w.cur, tenant: w.tenant}, x, max(w.attempt, 1), w.tk.Breaker()) {
		w.retried = true
		return
	}
	if e.rt != nil {
		e.ended()
	}
	w.hooking = true // see workerExit
	g.reject(&w.cur.task, x, max(w.attempt, 1)-1, e.meter, &e.hooks)
	w.hooking = false
}

// measure notes the run time of the task that just ended, to charge its
// tenant at the worker's next lock, and returns it.
func (e *fairBase[T]) measure(w *FairWorker[T]) time.Duration {
	d := e.meter.Since(w.began)
	w.ran = int64(d)
	if e.meter.SampleEvery > 0 { // latency metrics on: exact, every task is measured
		w.meter.BusyNanos.Add(uint64(d))
	}
	return d
}

// end ends the current task, which returned err: it measures its run
// time, counts it and reports a failure; with retries, it may schedule
// it again instead (retryOutcome).
func (e *fairBase[T]) end(w *FairWorker[T], err error) {
	if d := e.measure(w); w.cur.timed {
		e.meter.Shards[0].Run.Record(d)
	}
	err = w.meter.ended(w.tc, err)
	if g := e.hooks.brk; g != nil {
		g.record(&w.tk, err)
	}
	if e.rt != nil {
		x := w.cur.x
		w.cur.x = nil // it travels with the task if retried
		keep := fairRetry[T]{slot: w.cur, tenant: w.tenant}
		if retryOutcome(e.rt, e.meter, w.meter, &e.hooks, &keep, &w.cur.task, x, max(w.attempt, 1), err,
			&w.hooking, e.ended) {
			w.retried = true
			e.drained()
		}
		return
	}
	w.meter.Done(err)
	if x := w.cur.x; x != nil {
		w.cur.x = nil
		if x.finish(err) {
			return // the submitter has the outcome: it is not OnError's
		}
	}
	if err != nil {
		w.hooking = true // see workerExit
		e.hooks.failed(&w.cur.task, err)
		w.hooking = false
	}
}

// chargeLocked charges the task the worker ran last to its tenant, or
// gives back its charge if it was refused, if that is not done (e.mu is
// held).
func (e *fairBase[T]) chargeLocked(w *FairWorker[T]) {
	if w.retried {
		// Before the charge ends its run: the tenant stays while its
		// task waits to come back.
		w.retried = false
		e.sched.tenants[w.tenant].retrying++
	}
	switch {
	case w.ran >= 0:
		e.sched.end(w.tenant, w.charged, w.ran)
	case w.ran == fairRefused:
		e.sched.refund(w.tenant, w.charged)
	default:
		return
	}
	w.ran = -1
}

// next takes the next task into w.cur, waiting for one if need be, and
// charges the one before. It reports false when the worker should exit:
// the pool is stopped, or draining with nothing left.
func (e *fairBase[T]) next(w *FairWorker[T]) bool {
	for {
		if e.rt != nil {
			e.requeue()
		}
		if e.size.Load() > 0 || w.ran != -1 {
			e.mu.Lock()
			e.chargeLocked(w)
			if e.life.State() == Stopped {
				e.mu.Unlock()
				return false
			}
			if id, slot, charged, ok := e.sched.pop(); ok {
				w.cur, w.tenant, w.charged = e.slots[slot], id, charged
				e.slots[slot] = fairSlot[T]{} // drop the reference for the GC
				if e.attempts != nil {
					w.attempt = int(e.attempts[slot])
				}
				e.size.Store(int32(e.sched.queued))
				// Taking the task starts it: its slot is free now, for
				// a blocked submitter.
				admitted := e.admitLocked()
				e.mu.Unlock()
				if admitted {
					e.sleep.Wake()
				}
				w.meter.SetBusy(true)
				return true
			}
			e.mu.Unlock()
		}
		if e.life.State() == Stopped {
			return false
		}
		w.cur = fairSlot[T]{} // an idle worker holds no task
		w.meter.SetBusy(false)
		if !e.idle(w) {
			return false
		}
	}
}

// idle waits until there may be work (idleLocked). It reports false
// when the worker should exit.
func (e *fairBase[T]) idle(w *FairWorker[T]) bool {
	return idleLocked(&e.life, e.sleep, &e.meter.Clock, &w.slice, w.id, &e.size, e.rt)
}

// requeue puts the due retries and held tasks back in their tenants'
// queues, where they are charged as any task of theirs; past a tenant's
// limit if need be, as they were accepted already. Each holds its token,
// so the pool has room.
func (e *fairBase[T]) requeue() { requeueDue(e.rt, &e.mu, e.placeRetryLocked) }

// placeRetryLocked queues the due retry s in its tenant's queue
// (requeueDue).
func (e *fairBase[T]) placeRetryLocked(s *slot[fairRetry[T]], attempt int) {
	fs := s.task.slot
	fs.x, fs.timed = s.x, false // a retry's wait is not sampled: it was not queued all along
	e.placeLocked(s.task.tenant, fs, attempt)
	e.sched.tenants[s.task.tenant].retrying--
}

// ended gives back the token of a task that reached its final outcome
// (endedLocked).
func (e *fairBase[T]) ended() { endedLocked(e.rt, &e.mu, e.admitLocked, e.sleep, &e.life) }

// drained wakes the parked workers of a draining pool (drainedLocked).
func (e *fairBase[T]) drained() { drainedLocked(e.sleep, &e.life) }

// workerExit runs when a worker goroutine ends: normally (the pool is
// stopping), or because its task panicked or called runtime.Goexit, in
// which case the panic is counted and reported, the task's run time is
// charged to its tenant, and a new goroutine takes the worker's place.
func (e *fairBase[T]) workerExit(w *FairWorker[T]) {
	e.life.ExitWorker(w.env)
	if w.exiting {
		w.meter.Stop(e.meter.Now())
		e.life.WorkerExited()
		return
	}
	v := recover()
	if w.hooking {
		// OnError called runtime.Goexit: CallHook counted it, and the
		// task was counted and measured already. Only the goroutine
		// needs replacing.
		w.hooking = false
		go e.work(w)
		return
	}
	w.meter.Panicked.Add(1)
	if g := e.hooks.brk; g != nil {
		g.recordPanic(&w.tk)
	}
	if e.rt != nil {
		e.ended() // a panic is never retried
	}
	e.measure(w)
	defer func() { // even if OnPanic calls runtime.Goexit
		w.cur = fairSlot[T]{}
		go e.work(w)
	}()
	x := w.cur.x
	if x == nil {
		e.hooks.panicked(w.cur.task, v)
		return
	}
	w.cur.x = nil
	t := w.cur.task
	reported, stack := v, []byte(nil)
	defer func() { x.finishPanic(t, reported, stack) }() // even if OnPanic calls runtime.Goexit
	reported, stack = e.hooks.panicked(t, v)
}

// Shutdown stops intake, lets the workers finish the queue and waits.
func (e *fairBase[T]) Shutdown(ctx context.Context) error {
	e.stop(Draining)
	return e.life.Wait(ctx)
}

// ShutdownNow stops the workers and returns every queued task, in the
// order the workers would have taken them. Only the first call returns
// tasks.
func (e *fairBase[T]) ShutdownNow() []T {
	e.stop(Stopped)
	<-e.life.Exited()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, w := range e.workers {
		e.chargeLocked(w)
	}
	if e.returned {
		return nil
	}
	e.returned = true
	var out []T
	if n := e.sched.queued; n > 0 {
		out = make([]T, 0, n)
	}
	for {
		id, slot, charged, ok := e.sched.pop()
		if !ok {
			break
		}
		s := &e.slots[slot]
		out = append(out, s.task)
		if s.x != nil {
			s.x.finishReturned()
		}
		*s = fairSlot[T]{}
		e.sched.end(id, charged, -1)
	}
	if e.rt != nil {
		for _, r := range e.rt.drain(nil) {
			out = append(out, r.slot.task)
			e.sched.tenants[r.tenant].retrying--
			e.sched.settle(r.tenant)
		}
	}
	e.size.Store(0)
	e.meter.Returned(len(out))
	return out
}

// stop closes intake, moves to state to and wakes every parked worker.
func (e *fairBase[T]) stop(to State) {
	e.life.Stop(to, e.close)
	e.sleep.WakeAll()
}

// close stops intake: after it returns no push succeeds, and every
// blocked submitter is refused.
func (e *fairBase[T]) close() {
	e.mu.Lock()
	e.closed = true
	for _, id := range e.blocked {
		for _, w := range e.waiters[id] {
			w.done <- poolrt.ErrClosed
		}
		e.waiters[id] = nil
		e.sched.tenants[id].waiting = 0
		e.sched.settle(id)
	}
	e.blocked = e.blocked[:0]
	e.mu.Unlock()
}

// Stats is the pool's Stats, with its Fair section.
func (e *fairBase[T]) Stats() poolrt.Stats {
	st := e.meter.Snapshot(e.life.Live(), int(e.size.Load()), len(e.slots))
	f := &poolrt.FairStats{}
	e.mu.Lock()
	f.Backlogged, f.Forgotten, f.TenantRejected = len(e.sched.active), e.sched.forgotten, e.tenantRejected
	var all int64
	for id := range e.sched.tenants {
		t := &e.sched.tenants[id]
		if !t.live {
			continue
		}
		f.Tenants++
		all += t.busy
		f.Top = append(f.Top, poolrt.TenantStats{Tenant: e.name(int32(id)), Weight: int(t.weight),
			Queued: int(t.queued), Running: int(t.running), Submitted: t.submitted, Ended: t.ended,
			Busy: time.Duration(t.busy)})
	}
	e.mu.Unlock()
	slices.SortFunc(f.Top, func(a, b poolrt.TenantStats) int {
		return cmp.Or(cmp.Compare(b.Busy, a.Busy), cmp.Compare(a.Tenant, b.Tenant))
	})
	f.Top = f.Top[:min(len(f.Top), poolrt.MaxTenantStats)]
	for i := range f.Top {
		if all > 0 {
			f.Top[i].Share = float64(f.Top[i].Busy) / float64(all)
		}
	}
	st.Fair = f
	e.life.WorkerStats(&st)
	return st
}
