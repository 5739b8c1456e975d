package poolimpl

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/breaker"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// Rank is the machinery of the priority, deadline and cost pools
// (templates.PriorityPool, DeadlinePool and CostPool document them): one queue ordered by an int64 key (poolrt.RankHeap: lower keys
// first, submission order among equal keys) under one lock, drained by a
// fixed set of workers that take one task at a time, with parking, panic
// recovery, shutdown and metrics as in the fixed pool.
//
// Why one heap under one lock, and one task per pop: the pools promise a
// strict order. Sharded heaps would order tasks only within a shard, and a
// worker taking a batch would hold back a batch of lower-ranked tasks from
// idle workers and make a higher-ranked task submitted meanwhile wait
// behind them. With one task per pop, whenever a worker takes a task it is
// the best queued one, so a low-ranked task never delays a higher one
// beyond the tasks already running (the scheduling is non-preemptive: a
// running task is never interrupted). The price is one lock round trip per
// task for workers as well as submitters; the lock is held for a heap
// operation only, O(log n), never while a task runs.
//
// Tasks are kept by value in a slot array allocated up front; the heap
// orders 24-byte items naming the slots, so its sifting never moves a
// task, and submitting and running a task allocates nothing.
type Rank[T any] struct {
	mu     sync.Mutex
	heap   RankHeap      // guarded by mu
	slots  []rankSlot[T] // by heap slot; guarded by mu
	closed bool          // guarded by mu: intake stopped
	// returned: ShutdownNow has handed the queued tasks back (guarded by mu).
	returned bool
	// waiters are the submitters blocked on a full queue, best first (by
	// key, then arrival; guarded by mu): a worker that frees a slot admits
	// the best of them, so a blocked task waits behind no worse one.
	waiters []*rankWaiter[T]
	arrived uint64 // waiters ever, for FIFO among equal keys
	// size mirrors heap.Len() for lock-free emptiness checks.
	size atomic.Int32
	_    [CacheLinePad]byte

	life    Lifecycle
	sleep   *Sleepers
	meter   *Meter
	ranks   *RankMeter
	set     config.Settings
	order   *config.PrioritySettings // &set.Priority
	nilable bool                     // T is a pointer type: nil tasks are refused
	workers []*RankWorker[T]
	// deadline reads a task's deadline (deadline pools only; nil for the
	// others), and handler takes the late tasks if the user gave one.
	deadline func(T) time.Time
	handler  func(T)
	lane     Lane[T]
	hooks    taskHooks[T]
	timeouts timeouts[T]
	shed     *Shedder // load shedding, nil when off
	// rt is the retry policy, dead letters and held tasks, nil when off.
	// A due retry goes back into the heap by its key (requeue).
	rt *retries[rankRetry[T]]
	// attempts is the attempt number of the task in each heap slot, 0
	// for a first run (guarded by mu); nil without rt.
	attempts []int32
}

// rankRetry is what the delay queue keeps of a task waiting to retry:
// its slot (without its completion handle, which the queue keeps) and
// its heap key, which it goes back into the heap with.
type rankRetry[T any] struct {
	slot rankSlot[T]
	key  int64
}

// rankWaiter is a submitter blocked on a full queue, with its task ready
// to queue: its key and stamp are from the call to Submit, so that aging
// counts the time it waited to be admitted.
type rankWaiter[T any] struct {
	slot rankSlot[T]
	key  int64
	seq  uint64
	// done receives the outcome once a worker admitted the task (nil) or
	// intake stopped (poolrt.ErrClosed); the waiter leaves waiters then.
	done chan error
}

// before reports whether waiter a is admitted before b.
func (a *rankWaiter[T]) before(b *rankWaiter[T]) bool {
	return a.key < b.key || a.key == b.key && a.seq < b.seq
}

// rankSlot is a queued task and what the pool noted when it was accepted.
type rankSlot[T any] struct {
	task  T
	enq   int64 // config.Clock stamp at submit; 0 if not taken
	band  int32 // statistics band
	timed bool  // sampled for the latency histograms
	// x is the completion handle of a task submitted with SubmitWait.
	x *Waiter
}

// RankWorker is one worker slot's state, and what the lane's Rank loop
// calls to run its tasks (see Lane). It lives in the engine, so that a
// replacement goroutine (after a panic) takes over its meters.
type RankWorker[T any] struct {
	e       *Rank[T]
	id      int
	cur     rankSlot[T] // the task being run
	began   int64       // when cur started, if it is sampled; else 0
	running bool        // cur started and has not ended (First, Next)
	hooking bool        // in OnError, whose runtime.Goexit must not count cur again
	key     int64       // cur's heap key
	attempt int         // cur's attempt number (retries), or 0 for a first run
	exiting bool
	meter   *WorkerMeter
	ranks   *RankWorkerMeter
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

// Init starts a pool ordered by kind and configured by opts, running tasks
// through lane, or returns a *poolrt.ConfigError and starts nothing. A
// deadline pool passes deadline, which reads a task's deadline, and the
// user's handler of late tasks, if any; the others pass nil for both.
func (e *Rank[T]) Init(kind poolrt.RankKind, opts []poolrt.Option, lane Lane[T], deadline func(T) time.Time, handler func(T)) error {
	set, err := config.ResolveRank(kind, handler != nil, opts)
	if err != nil {
		return err
	}
	e.set, e.lane, e.deadline, e.handler = set, lane, deadline, handler
	e.timeouts = timeouts[T]{def: set.TaskTimeout, of: lane.Timeout}
	if e.hooks, err = resolveHooks[T](&e.set); err != nil {
		return err
	}
	e.order = &e.set.Priority
	e.meter = NewMeter(&e.set, set.Workers, 1)
	e.ranks = NewRankMeter(&e.set, set.Workers)
	e.shed = e.meter.shedder(&e.set, &e.life, set.QueueSize, func() int { return int(e.size.Load()) })
	e.sleep = NewSleepers(set.Workers)
	if e.rt, err = newRetriesOf(&e.set, set.QueueSize, e.sleep.Wake, func(r *rankRetry[T]) *T { return &r.slot.task }); err != nil {
		return err
	}
	e.heap.Init(set.QueueSize)
	e.slots = make([]rankSlot[T], set.QueueSize)
	if e.rt != nil {
		e.attempts = make([]int32, set.QueueSize)
	}
	e.workers = make([]*RankWorker[T], set.Workers)
	e.life.Init(set.Workers)
	if err := e.life.Reserve(&e.set, config.Priority, taskName[T]()); err != nil {
		return err
	}
	e.nilable = Nilable[T]()
	for id := range e.workers {
		w := &RankWorker[T]{e: e, id: id, meter: e.meter.Worker(id), ranks: e.ranks.Worker(id), region: taskRegion{kind: e.life.region}}
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

// Refuses reports whether t is a task the pool refuses: a nil pointer.
// Pools check before they compute a rank, which would read the task.
func (e *Rank[T]) Refuses(t *T) bool { return e.nilable && IsNil(t) }

// prepare makes the slot and the heap key for t, of rank r, doing what
// needs no lock: the sampling draw, the clock read, the key and the band.
func (e *Rank[T]) prepare(t T, r int64) (rankSlot[T], int64) {
	every := e.meter.SampleEvery
	timed := every == 1 || every > 1 && RandN(every) == 0
	var enq int64
	if timed || e.order.Stamped() {
		enq = e.meter.Now()
	}
	return rankSlot[T]{task: t, enq: enq, band: int32(e.order.Band(r)), timed: timed}, e.order.Key(r, enq)
}

// push queues a prepared task unless the queue is full or closed: it
// returns nil, poolrt.ErrQueueFull or poolrt.ErrClosed. Blocked submitters
// go first: while any waits, the queue counts as full.
func (e *Rank[T]) push(slot rankSlot[T], key int64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return poolrt.ErrClosed
	}
	if !e.roomLocked() {
		return poolrt.ErrQueueFull
	}
	e.queueLocked(slot, key)
	return nil
}

// roomLocked reports whether a new task may be queued, no submitter being
// blocked (e.mu is held). With retries, the bound is on the tasks
// accepted and not ended: it takes the new task's token.
func (e *Rank[T]) roomLocked() bool {
	if e.heap.Len() == len(e.slots) || len(e.waiters) > 0 {
		return false
	}
	return e.rt == nil || e.rt.acquire()
}

// queueLocked puts a prepared slot of a new task into the heap (e.mu is
// held, and there is room).
func (e *Rank[T]) queueLocked(slot rankSlot[T], key int64) {
	e.placeLocked(slot, key, 0)
	e.meter.Shards[0].Submitted.Add(1) // under mu: single writer
	e.ranks.Submitted(int(slot.band))
}

// placeLocked puts slot into the heap by key, for attempt attempt (0:
// the first; e.mu is held, and there is room).
func (e *Rank[T]) placeLocked(slot rankSlot[T], key int64, attempt int) {
	i := e.heap.Push(key)
	e.slots[i] = slot
	if e.attempts != nil {
		e.attempts[i] = int32(attempt)
	}
	e.size.Store(int32(e.heap.Len()))
}

// Submit is the pool's Submit for a task of rank r.
func (e *Rank[T]) Submit(ctx context.Context, t T, r int64) error {
	if e.set.Propagate != config.PropagateNone {
		// t carries ctx in a completion handle that no one waits for:
		// the worker that ends t recycles it.
		_, err := e.submitWaited(ctx, t, r, false)
		return err
	}
	slot, key := e.prepare(t, r)
	if e.shed != nil && e.shed.Refuse(int(slot.band)) {
		return poolrt.ErrOverloaded
	}
	err := e.push(slot, key)
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
		e.runCaller(t)
		return nil
	}
	return e.wait(ctx, slot, key)
}

// SubmitWait is the pool's SubmitWait for a task of rank r.
func (e *Rank[T]) SubmitWait(ctx context.Context, t T, r int64) error {
	x, err := e.submitWaited(ctx, t, r, true)
	if x == nil {
		return err
	}
	return x.wait(ctx)
}

// submitWaited queues t, of rank r, with a completion handle, as the
// feed's submitWaited does: it returns the handle to wait on if wait is
// set, or a nil handle and the outcome when there is nothing to wait for.
// Without wait, the handle only carries ctx to the worker.
func (e *Rank[T]) submitWaited(ctx context.Context, t T, r int64, wait bool) (*Waiter, error) {
	slot, key := e.prepare(t, r)
	if e.shed != nil && e.shed.Refuse(int(slot.band)) {
		return nil, poolrt.ErrOverloaded
	}
	x := e.life.Waiter()
	if e.set.Propagate != config.PropagateNone {
		x.ctx = ctx
	}
	if !wait {
		x.state.Store(waiterAbandoned)
	}
	slot.x = x
	err := e.push(slot, key)
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
	if err := e.wait(ctx, slot, key); err != nil {
		x.cancel()
		return nil, err
	}
	return handle(x, wait), nil
}

// Closed is the pool's Closed.
func (e *Rank[T]) Closed() bool { return e.life.Closed() }

// wait is submit under the Block policy once the queue was full (slot
// and key prepared at the call, so that aging counts from it): it
// joins the waiters, whom workers admit best first as they free slots,
// until admitted, ctx is done or intake stops.
func (e *Rank[T]) wait(ctx context.Context, slot rankSlot[T], key int64) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return poolrt.ErrClosed
	}
	if e.roomLocked() {
		e.queueLocked(slot, key) // room was made meanwhile
		e.mu.Unlock()
		e.sleep.Wake()
		return nil
	}
	e.arrived++
	w := &rankWaiter[T]{slot: slot, key: key, seq: e.arrived, done: make(chan error, 1)}
	i, _ := slices.BinarySearchFunc(e.waiters, w, func(a, b *rankWaiter[T]) int {
		if a.before(b) {
			return -1
		}
		return 1
	})
	e.waiters = slices.Insert(e.waiters, i, w)
	e.mu.Unlock()
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if i := slices.Index(e.waiters, w); i >= 0 {
		e.waiters = slices.Delete(e.waiters, i, i+1)
		return ctx.Err()
	}
	return <-w.done // admitted or refused just now: the outcome is sent
}

// admitLocked queues the best waiter's task, if one waits and there is
// room (e.mu is held): a free heap slot, and with retries a token. It
// reports whether it did, and the caller wakes a worker for it.
func (e *Rank[T]) admitLocked() bool {
	if len(e.waiters) == 0 || e.heap.Len() == len(e.slots) || e.rt != nil && !e.rt.acquire() {
		return false
	}
	w := e.waiters[0]
	e.waiters[0] = nil
	e.waiters = e.waiters[1:]
	e.queueLocked(w.slot, w.key)
	w.done <- nil
	return true
}

// TrySubmit is the pool's TrySubmit for a task of rank r.
func (e *Rank[T]) TrySubmit(t T, r int64) error {
	slot, key := e.prepare(t, r)
	if e.shed != nil && e.shed.Refuse(int(slot.band)) {
		return poolrt.ErrOverloaded
	}
	switch err := e.push(slot, key); err {
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

// runCaller runs t on the submitter's goroutine (CallerRuns policy).
func (e *Rank[T]) runCaller(t T) {
	e.meter.Shards[0].CallerRuns.Add(1)
	RunOnCaller(e.life.Context(), t, e.lane.One, &e.hooks, e.meter, &e.timeouts)
}

// work is a worker's goroutine: the lane's Rank loop runs its tasks
// (First, Next) until they find the pool stopping.
func (e *Rank[T]) work(w *RankWorker[T]) {
	e.life.LabelWorker()
	defer e.workerExit(w)
	if w.env != nil && !e.life.StartWorker(w.env, func() bool { return !waitingLocked(&e.size, e.rt) && !retrying(e.rt) }, nil) {
		w.exiting = true
		return
	}
	e.lane.Rank(w)
}

// Context returns the context to pass to the worker's tasks: the pool's,
// canceled by ShutdownNow, or, when tasks have timeouts, the worker's
// context that carries the running task's deadline as well, and when
// workers have resources, one that answers the worker's.
func (w *RankWorker[T]) Context() context.Context {
	if w.ctx != nil {
		return w.ctx
	}
	return w.e.life.Context()
}

// First starts the best queued task and returns it, waiting for one if
// need be; it returns nil when the worker should exit. A deadline pool's
// late tasks are dealt with here, by its late policy. The lane calls it
// once, then Next after each task.
func (w *RankWorker[T]) First() *T {
	w.running, w.began = false, 0 // a task that panicked is not ended here
	w.region.reset()
	return w.Next(nil)
}

// Next ends the task First or Next returned, which returned err, if it
// did not panic, and starts the next one, as First does.
func (w *RankWorker[T]) Next(err error) *T {
	e := w.e
	if w.running {
		w.running = false
		w.region.end()
		e.end(w, err)
	}
	for {
		// Give way, if the slice says so and a task waits, before
		// taking it: the task stays in the heap meanwhile, for an idle
		// worker to take, and a better one that comes meanwhile goes
		// first (see Worker.Next).
		if e.size.Load() > 0 {
			w.slice.Next(&e.meter.Clock, e.sleep)
		}
		if !e.next(w) {
			break
		}
		if e.deadline != nil {
			if by := e.meter.PastDeadline(w.key); by > 0 {
				w.ranks.Late(by)
				if !e.late(w, by) {
					continue
				}
			}
		}
		if g := e.hooks.brk; g != nil && !g.admit(&w.cur.task, &w.tk) {
			e.refuse(w, g)
			continue
		}
		if w.cur.timed {
			w.began = e.meter.Now()
			d := time.Duration(w.began - w.cur.enq)
			e.ranks.Waited(int(w.cur.band), d)
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

// refuse ends the task w took, which its circuit breaker g did not let
// start: it is held in the delay queue (poolrt.BreakerPolicy.Hold, while
// the pool is open and the breaker holds fewer than MaxHeld), to come
// back into the heap by its key, or dead-lettered.
func (e *Rank[T]) refuse(w *RankWorker[T], g *gate[T]) {
	x := w.cur.x
	w.cur.x = nil // it travels with the task if held
	if g.g.Hold && e.life.State() == Open && e.rt.hold(rankRetry[T]{slot: w.cur, key: w.key}, x, max(w.attempt, 1), w.tk.Breaker()) {
		return
	}
	w.ranks.Done(int(w.cur.band))
	if e.rt != nil {
		e.ended()
	}
	w.hooking = true // see workerExit
	g.reject(&w.cur.task, x, max(w.attempt, 1)-1, e.meter, &e.hooks)
	w.hooking = false
}

// end ends the current task, which returned err: it records its run time
// if it was sampled, counts it and reports a failure; with retries, it
// may schedule it again instead (retryOutcome).
func (e *Rank[T]) end(w *RankWorker[T], err error) {
	if w.began != 0 {
		d := e.meter.Since(w.began)
		w.began = 0
		e.meter.Shards[0].Run.Record(d)
		w.meter.BusyNanos.Add(uint64(d) * uint64(e.meter.SampleEvery))
	}
	err = w.meter.ended(w.tc, err)
	if g := e.hooks.brk; g != nil {
		g.record(&w.tk, err)
	}
	if e.rt != nil {
		x := w.cur.x
		w.cur.x = nil // it travels with the task if retried
		keep := rankRetry[T]{slot: w.cur, key: w.key}
		if retryOutcome(e.rt, e.meter, w.meter, &e.hooks, &keep, &w.cur.task, x, max(w.attempt, 1), err,
			&w.hooking, func() { w.ranks.Done(int(w.cur.band)); e.ended() }) {
			e.drained()
		}
		return
	}
	e.done(w, err)
}

// late deals with the task w took past its deadline (by how long): it
// hands it to the handler, drops it (DropLate) or reports that it runs
// anyway (RunLate).
func (e *Rank[T]) late(w *RankWorker[T], by time.Duration) (run bool) {
	switch {
	case e.handler != nil:
		w.ranks.HandedOff()
		if x := w.cur.x; x != nil {
			// The task did not run: its submitter hears why, while the
			// handler has the task.
			w.cur.x = nil
			t := w.cur.task
			x.finish(&poolrt.DeadlineError{Task: t, Deadline: e.deadline(t), Late: by})
		}
		e.handler(w.cur.task)
		e.done(w, nil)
	case e.order.Late == poolrt.DropLate:
		w.ranks.Dropped()
		t := w.cur.task
		e.done(w, &poolrt.DeadlineError{Task: t, Deadline: e.deadline(t), Late: by})
	default:
		w.ranks.Missed()
		return true
	}
	return false
}

// done counts the current task as completed with err and reports err.
func (e *Rank[T]) done(w *RankWorker[T], err error) {
	w.meter.Done(err)
	w.ranks.Done(int(w.cur.band))
	if e.rt != nil {
		e.ended()
	}
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

// next takes the best queued task into w.cur, waiting for one if need be.
// It reports false when the worker should exit: the pool is stopped, or
// draining with nothing left.
func (e *Rank[T]) next(w *RankWorker[T]) bool {
	for {
		if e.rt != nil {
			e.requeue()
		}
		if e.size.Load() > 0 {
			e.mu.Lock()
			if e.life.State() == Stopped {
				e.mu.Unlock()
				return false
			}
			if e.heap.Len() > 0 {
				i, key := e.heap.Pop()
				w.cur, w.key = e.slots[i], key
				e.slots[i] = rankSlot[T]{} // drop the reference for the GC
				if e.attempts != nil {
					w.attempt = int(e.attempts[i])
				}
				e.size.Store(int32(e.heap.Len()))
				// Taking the task starts it: its slot is free now, for
				// the best blocked submitter.
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
		w.cur = rankSlot[T]{} // an idle worker holds no task
		w.meter.SetBusy(false)
		if !e.idle(w) {
			return false
		}
	}
}

// idle waits until there may be work (idleLocked). It reports false
// when the worker should exit.
func (e *Rank[T]) idle(w *RankWorker[T]) bool {
	return idleLocked(&e.life, e.sleep, &e.meter.Clock, &w.slice, w.id, &e.size, e.rt)
}

// requeue puts the due retries and held tasks back into the heap by their
// keys, where they compete with the queued tasks as they did when they
// were submitted: a due retry of a low rank does not overtake the better
// tasks queued meanwhile. Each holds its token, so there is room.
func (e *Rank[T]) requeue() { requeueDue(e.rt, &e.mu, e.placeRetryLocked) }

// placeRetryLocked queues the due retry s by its rank (requeueDue).
func (e *Rank[T]) placeRetryLocked(s *slot[rankRetry[T]], attempt int) {
	rs := s.task.slot
	rs.x, rs.timed = s.x, false // a retry's wait is not sampled: it was not queued all along
	e.placeLocked(rs, s.task.key, attempt)
}

// ended gives back the token of a task that reached its final outcome
// (endedLocked).
func (e *Rank[T]) ended() { endedLocked(e.rt, &e.mu, e.admitLocked, e.sleep, &e.life) }

// drained wakes the parked workers of a draining pool (drainedLocked).
func (e *Rank[T]) drained() { drainedLocked(e.sleep, &e.life) }

// workerExit runs when a worker goroutine ends: normally (the pool is
// stopping), or because its task (or a deadline pool's late handler)
// panicked or called runtime.Goexit, in which case the panic is counted
// and reported and a new goroutine takes the worker's place.
func (e *Rank[T]) workerExit(w *RankWorker[T]) {
	e.life.ExitWorker(w.env)
	if w.exiting {
		w.meter.Stop(e.meter.Now())
		e.life.WorkerExited()
		return
	}
	v := recover()
	if w.hooking {
		// OnError called runtime.Goexit: CallHook counted it, and the
		// task was counted already. Only the goroutine needs replacing.
		w.hooking = false
		go e.work(w)
		return
	}
	w.meter.Panicked.Add(1)
	w.ranks.Panicked(int(w.cur.band))
	if g := e.hooks.brk; g != nil {
		g.recordPanic(&w.tk)
	}
	if e.rt != nil {
		e.ended() // a panic is never retried
	}
	defer func() { // even if OnPanic calls runtime.Goexit
		w.cur = rankSlot[T]{}
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
func (e *Rank[T]) Shutdown(ctx context.Context) error {
	e.stop(Draining)
	return e.life.Wait(ctx)
}

// ShutdownNow stops the workers and returns every queued task, best
// first. Only the first call returns tasks.
func (e *Rank[T]) ShutdownNow() []T {
	e.stop(Stopped)
	<-e.life.Exited()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.returned {
		return nil
	}
	e.returned = true
	var out []T
	if n := e.heap.Len(); n > 0 {
		out = make([]T, 0, n)
	}
	for e.heap.Len() > 0 {
		i, _ := e.heap.Pop()
		out = append(out, e.slots[i].task)
		if x := e.slots[i].x; x != nil {
			x.finishReturned()
		}
		e.ranks.Returned(int(e.slots[i].band))
		e.slots[i] = rankSlot[T]{}
	}
	e.size.Store(0)
	if e.rt != nil {
		for _, r := range e.rt.drain(nil) {
			out = append(out, r.slot.task)
			e.ranks.Returned(int(r.slot.band))
		}
	}
	e.meter.Returned(len(out))
	return out
}

// stop closes intake, moves to state to and wakes every parked worker.
func (e *Rank[T]) stop(to State) {
	e.life.Stop(to, e.close)
	e.sleep.WakeAll()
}

// close stops intake: after it returns no push succeeds, and every
// blocked submitter is refused.
func (e *Rank[T]) close() {
	e.mu.Lock()
	e.closed = true
	for _, w := range e.waiters {
		w.done <- poolrt.ErrClosed
	}
	clear(e.waiters)
	e.waiters = e.waiters[:0]
	e.mu.Unlock()
}

// Stats is the pool's Stats, with its Priority section.
func (e *Rank[T]) Stats() poolrt.Stats {
	st := e.meter.Snapshot(e.life.Live(), int(e.size.Load()), len(e.slots))
	st.Priority, st.Wait = e.ranks.Snapshot()
	e.life.WorkerStats(&st)
	return st
}

// DeadlineKey returns the rank of a task due at d, for Submit.
func (e *Rank[T]) DeadlineKey(d time.Time) int64 { return e.meter.DeadlineKey(d) }
