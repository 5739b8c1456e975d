package poolimpl

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/breaker"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// engine is the machinery FixedPool and DynamicPool share: a sharded queue
// fed by submitters, drained in batches by worker goroutines, with
// parking, panic recovery, shutdown and metrics. It can grow and shrink
// its worker count (resize); the fixed pool never asks it to.
type engine[T any] struct {
	feed[T]

	// target is how many workers should run: worker slots [0, target)
	// are filled, and a worker whose slot is at or above target retires
	// at its next idle moment.
	target  atomic.Int32
	mu      sync.Mutex   // guards workers' alive flags, spawning, exits and returned
	workers []*Worker[T] // by slot; nil until first used
	// slots counts the worker slots in use, a prefix of workers: stored
	// after they are, so that a worker looking for tasks to take over
	// (takeHeld) reads them without the lock.
	slots atomic.Int32
	// returned: ShutdownNow has handed the unstarted tasks back.
	returned bool
	// acts, when set (dynamic pools), records each worker's busy and idle
	// time for the scaling controller. Set before init.
	acts *Activities
}

// Worker is one worker slot's state, and what the lane's Batch loop calls
// to run its tasks (see Lane). It lives in the engine, not on the
// worker goroutine's stack, so that a replacement goroutine (after a
// panic) resumes the batch and ShutdownNow can collect the tasks it never
// started.
//
// The tasks of a batch that have not started stay within reach of the
// other workers: a worker that runs out of work takes over half of them
// (takeHeld), so that no task waits behind a long one while a worker is
// idle. claim says which are whose: the owner claims each task as it
// starts it, moving pos up; a taker moves end down. Both change claim
// atomically, so each task goes to one of them.
type Worker[T any] struct {
	e   *engine[T]
	cur *slot[T] // the task running now, as First or Next returned it
	// began is when cur started, if it is sampled (LatencySampling);
	// else 0.
	began int64
	// running: cur started and has not ended (First, Next).
	running bool
	// hooking: the worker is in OnError, whose runtime.Goexit must not
	// count the task again (workerExit).
	hooking bool
	id      int
	home    int // home shard
	// claim packs the batch's generation, end and pos (claimBits each):
	// buf[pos:end] are taken from the queue and not yet started. The
	// owner adds 1 to claim a task; a taker swaps in a lower end.
	claim atomic.Uint64
	gen   uint64 // the owner's batch count, claim's generation
	pos   int    // the owner's copy of claim's pos: buf[pos-1] runs
	n     int    // the batch's size as taken: buf[:n] are the owner's to clear
	from  int    // the shard buf was taken from; -1: a retry or a handoff, from no shard
	// handed: the batch is a task a submitter gave the worker while it
	// was parked (handTo). Written before the wake-up, read after it.
	handed bool
	// attempt is the attempt number of the batch's tasks (a retry's), or
	// 0 for tasks run the first time.
	attempt int
	// takers is locked by a worker taking tasks over while it copies them
	// out of buf: an owner whose batch was cut short waits for it before
	// refilling buf.
	takers  sync.Mutex
	exiting bool
	alive   bool // a goroutine runs this slot (guarded by engine.mu)
	working bool // act was last told busy (dynamic pools)
	meter   *WorkerMeter
	act     *Activity // nil unless the engine has acts
	slice   Slice
	region  taskRegion
	// tc is the tasks' context when they may have a timeout, else nil.
	tc *taskCtx
	// tk is the running task's circuit breaker ticket (breaker.go).
	tk breaker.Ticket
	// ctx is the tasks' context when it is not the pool's (a timeout's,
	// a resource's), else nil.
	ctx context.Context
	// env pins the worker and holds its resource; nil without either.
	env *Env
	buf [maxBatch]slot[T]
	_   [CacheLinePad]byte
}

// claimBits is the width of a batch position in worker.claim; maxBatch
// and one more claim past the end (an owner that finds its batch taken
// over) fit in it.
const claimBits = 8

func packClaim(gen uint64, pos, end int) uint64 {
	return gen<<(2*claimBits) | uint64(end)<<claimBits | uint64(pos)
}

func unpackClaim(c uint64) (pos, end int) {
	const mask = 1<<claimBits - 1
	return int(c & mask), int(c >> claimBits & mask)
}

// next claims the owner's next task of its batch and returns its slot, or
// nil when the batch is done: run, or taken over.
func (w *Worker[T]) next() *slot[T] {
	pos, end := unpackClaim(w.claim.Add(1))
	if pos > end {
		return nil // pos-1 was at or past the end
	}
	w.pos = pos
	return &w.buf[pos-1]
}

// unstarted returns the range of buf the owner has neither started nor
// seen taken over.
func (w *Worker[T]) unstarted() (pos, end int) {
	pos, end = unpackClaim(w.claim.Load())
	return min(pos, end), end
}

// init prepares an engine of a pool of pattern for up to slots workers
// and starts workers of them, unless its name is in use.
func (e *engine[T]) init(set config.Settings, pattern config.Pattern, slots, workers int, lane Lane[T]) error {
	if err := e.initFeed(set, pattern, slots, workers, lane); err != nil {
		return err
	}
	e.workers = make([]*Worker[T], slots)
	e.hand = e.handTo
	e.meter.handed = &e.sleep.handed
	e.resize(workers)
	return nil
}

// handTo gives t to a parked worker, if the pool has one, as a batch of
// one in the worker's buffer, and wakes it; it reports false, and does
// nothing, when no worker is parked or the pool is not open.
//
// A task queued for a parked worker moves its queue's lines between two
// threads and makes the woken worker look for it: the shard's tail and
// cell for the submitter, its head, cell and started count for the
// worker. At a low rate every one of those lines is cold, as the threads
// slept in between; handed over, the task costs the lines of the worker's
// buffer and the wake-up's alone, as in a channel handoff, and the
// queue's lines stay unwritten. Busy pools park no worker, and queue.
//
// The worker was parked, so its buffer is empty and nobody reads it; the
// wake-up orders the writes before the worker's reads. A pool that stops
// meanwhile still finds the task: Shutdown waits for the worker, which
// runs its batch, and ShutdownNow collects it from the worker's buffer
// once the worker has exited, which it does only after this wake-up.
func (e *engine[T]) handTo(t T) bool {
	if e.life.State() != Open {
		return false
	}
	id, ok := e.sleep.Take()
	if !ok {
		return false
	}
	w := e.workers[id]
	w.buf[0] = slot[T]{task: t, enq: e.q.sampler.stamp(e.sleep.Handed())}
	w.n, w.from, w.attempt, w.handed = 1, -1, 0, true
	w.gen++
	w.claim.Store(packClaim(w.gen, 0, 1))
	e.sleep.Send(id)
	return true
}

// holds reports whether the worker's batch has tasks that neither it nor
// another worker (takeHeld) has started.
func (w *Worker[T]) holds() bool {
	pos, end := w.unstarted()
	return pos < end
}

// resize sets the number of workers: it starts workers in empty slots
// below n, and wakes parked workers at or above n so that they retire.
// Busy ones retire when they next run out of work. It reports false, and
// changes nothing, once the pool is stopping; while it drains its queue
// (Shutdown), the pool may only grow — more workers drain it sooner —
// until its last worker has exited.
func (e *engine[T]) resize(n int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch e.life.State() {
	case Open:
	case Draining:
		// Worker exits are counted under e.mu: with one alive, the pool
		// has not exited, and a worker started now is waited for.
		if n <= int(e.target.Load()) || e.life.Live() == 0 {
			return false
		}
	default:
		return false
	}
	e.resizeLocked(n)
	return true
}

func (e *engine[T]) resizeLocked(n int) {
	e.target.Store(int32(n))
	e.q.setWorkers(n)
	for id := range n {
		w := e.workers[id]
		if w == nil {
			w = &Worker[T]{e: e, id: id, home: id % len(e.q.shards), meter: e.meter.Worker(id), region: taskRegion{kind: e.life.region}}
			if e.timeouts.on() || e.rt != nil || e.set.Propagate != config.PropagateNone {
				w.tc = newTaskCtx(e.life.Context())
				w.ctx = w.tc
			}
			if env, ctx := e.life.NewEnv(id, w.Context()); env != nil {
				w.env, w.ctx = env, ctx
			}
			if e.acts != nil {
				w.act = e.acts.Slot(id)
			}
			e.workers[id] = w
		}
		if int(e.slots.Load()) <= id {
			e.slots.Store(int32(id + 1))
		}
		if !w.alive {
			w.alive, w.exiting, w.working = true, false, false
			now := e.meter.Now()
			w.meter.Start(now)
			if w.act != nil {
				w.act.Start(now)
			}
			e.life.WorkerStarted()
			go e.work(w)
		}
	}
	for id := n; id < len(e.workers); id++ {
		if w := e.workers[id]; w != nil && w.alive {
			e.sleep.WakeID(id)
		}
	}
}

// workers returns the number of live worker goroutines.
func (e *engine[T]) live() int { return e.life.Live() }

// work is a worker's loop: run what is left of its batch (the lane's
// Batch loop, calling First and Next), take the next, repeat.
func (e *engine[T]) work(w *Worker[T]) {
	e.life.LabelWorker()
	defer e.workerExit(w)
	if w.env != nil && !e.life.StartWorker(w.env, func() bool { return !e.waiting() && !e.retrying() },
		func() bool { return e.retired(w) && e.mayRetire() }) {
		w.exiting = true
		return
	}
	for {
		e.lane.Batch(w)
		if w.exiting || !e.refill(w) {
			w.exiting = true
			return
		}
	}
}

// Context returns the context to pass to the worker's tasks: the pool's,
// canceled by ShutdownNow, or, when tasks have timeouts, the worker's
// context that carries the running task's deadline as well, and when
// workers have resources, one that answers the worker's.
func (w *Worker[T]) Context() context.Context {
	if w.ctx != nil {
		return w.ctx
	}
	return w.e.life.Context()
}

// First starts the next task of the worker's batch and returns it, or nil
// when the batch is done or the pool has stopped. The lane calls it once,
// then Next after each task.
func (w *Worker[T]) First() *T {
	w.running, w.began = false, 0 // a task that panicked is not ended here
	w.region.reset()
	return w.Next(nil)
}

// Next ends the task First or Next returned, which returned err, if it
// did not panic: it counts it, records its run time if it was sampled
// and reports a failure. Then it starts the next one, as First does.
func (w *Worker[T]) Next(err error) *T {
	if w.running {
		w.region.end()
		w.end(err)
		w.running = false
	}
	e := w.e
	for {
		if e.life.State() == Stopped {
			w.exiting = true
			return nil
		}
		// Give way, if the slice says so, before claiming the next task,
		// not after: while this worker waits for a P again, its next task
		// stays unstarted in the batch, where an idle worker takes it
		// over (takeHeld). Claimed, it would be out of every other
		// worker's reach and still count as waiting. At the end of the
		// batch there is nothing to give way for: refill takes the next
		// batch, and its first task gives way here if need be.
		if w.pos < w.n {
			w.slice.Next(&e.meter.Clock, e.sleep)
		}
		s := w.next()
		if s == nil {
			return nil
		}
		w.cur = s
		if w.from >= 0 {
			e.q.release(w.from, 1) // its queue slot is free once it starts
			e.life.Room()
		}
		if g := e.hooks.brk; g != nil && !g.admit(&s.task, &w.tk) {
			w.refuse(g)
			continue
		}
		if s.enq != 0 {
			w.began = e.meter.Now()
			d := time.Duration(w.began - s.enq)
			e.meter.Shards[w.home].Wait.Record(d)
			if e.shed != nil {
				e.shed.Observe(d, w.began)
			}
		}
		if w.tc != nil {
			w.tc.begin(e.timeouts.get(&s.task), max(w.attempt, 1), s.x.context(), e.set.Propagate == config.PropagateDeadline)
		}
		w.running = true
		w.region.begin(e.life.Context())
		return &s.task
	}
}

// refuse ends the task its circuit breaker did not let start: it is
// held in the delay queue (poolrt.BreakerPolicy.Hold, while the pool is
// open and the breaker holds fewer than MaxHeld), or dead-lettered.
func (w *Worker[T]) refuse(g *gate[T]) {
	e := w.e
	x := w.cur.x
	if g.g.Hold && e.life.State() == Open && e.rt.hold(w.cur.task, x, max(w.attempt, 1), w.tk.Breaker()) {
		w.cur.x = nil // it travels with the task
		return
	}
	w.cur.x = nil
	if e.rt != nil {
		e.ended(e.rt)
	}
	w.hooking = true // see workerExit
	g.reject(&w.cur.task, x, max(w.attempt, 1)-1, e.meter, &e.hooks)
	w.hooking = false
}

// end ends the task that returned err.
func (w *Worker[T]) end(err error) {
	if w.began != 0 {
		e := w.e
		d := e.meter.Since(w.began)
		w.began = 0
		e.meter.Shards[w.home].Run.Record(d)
		e.runs.Record(d)
		w.meter.BusyNanos.Add(uint64(d) * uint64(e.meter.SampleEvery))
	}
	err = w.meter.ended(w.tc, err)
	if g := w.e.hooks.brk; g != nil {
		g.record(&w.tk, err)
	}
	if rt := w.e.rt; rt != nil {
		w.endRetried(rt, err)
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
		w.e.hooks.failed(&w.cur.task, err)
		w.hooking = false
	}
}

// refill takes the worker's next batch, waiting for one if need be. It
// reports false when the worker should exit.
//
// A worker whose batch was a task handed to it (handTo) skips its first
// take and goes straight to idle: it was parked when the task came, so
// the pool had slack and its queue was empty, and idle looks at the
// queue again after registering, which finds any task queued since. A
// take first would read the same shards once more, and at the low rates
// where tasks are handed over every line it reads is cold.
func (e *engine[T]) refill(w *Worker[T]) bool {
	take := !w.handed
	e.settle(w)
	for waited := true; ; {
		if w.n > 0 {
			// Handed a task while parked (handTo): run it even if the
			// worker is to retire, and let Next see whether the pool
			// stopped. Unless another worker took it over meanwhile
			// (takeHeld): then wait for that worker's copy before the
			// buffer is reused, as for any batch.
			if w.holds() {
				e.busy(w)
				return true
			}
			e.settle(w)
		}
		if e.life.State() == Stopped || e.retired(w) && e.mayRetire() {
			return false
		}
		if take && e.takeBatch(w, !waited) {
			return true
		}
		take = true
		w.meter.SetBusy(false)
		if !waited {
			// idle saw work without waiting, and this pass could not
			// take it: another worker took it first, or was taking
			// from its shard, and idle may see it again at once. Give
			// way; the next pass waits for such a worker (takeBatch).
			gosched()
		}
		var goOn bool
		if goOn, waited = e.idle(w); !goOn {
			return false
		}
	}
}

// takeBatch takes the worker's next batch, if there is one: a due retry,
// tasks from the queue, or tasks another worker holds unstarted. It
// reports whether it took any. With wait set (the worker's last look saw
// tasks it then could not take), it waits for a worker that is taking
// from the shard it would steal from, rather than pass over it.
//
// A worker that yields between looks keeps its thread running, and a
// yield gives its P to other goroutines, not its CPU to other threads:
// where the kernel had queued the other worker's thread behind it on one
// CPU (a host that packs threads onto few CPUs does), the other worker,
// stopped while it held its shard, resumed only at the kernel's next
// scheduler tick, milliseconds later, and no task started meanwhile. A
// worker waiting for the shard's lock parks, and its thread gives the CPU
// up.
func (e *engine[T]) takeBatch(w *Worker[T], wait bool) bool {
	// While workers are parked, take one task at a time: a batch would
	// make its tasks wait behind each other while a parked worker, woken
	// for them, finds nothing. Batches are for busy pools, and for short
	// tasks (poolrt.BatchBudget).
	limit := takeLimit(&e.set, &e.runs, e.sleep.Parked() > 0, maxBatch)
	n, from, attempt := 0, 0, 0
	if e.rt != nil {
		// Due retries first: they are older than the queue's tasks.
		if attempt = e.rt.take(&w.buf[0]); attempt > 0 {
			n, from = 1, -1
		}
	}
	if n == 0 {
		n, from = e.q.takeFrom(w.home, w.buf[:limit], !wait)
	}
	if n == 0 {
		n, from, attempt = e.takeHeld(w)
	}
	if n == 0 {
		return false
	}
	w.attempt = attempt
	e.publish(w, n, from)
	e.busy(w)
	return true
}

// busy records that the worker has a batch to run.
func (e *engine[T]) busy(w *Worker[T]) {
	w.meter.SetBusy(true)
	if w.act != nil && !w.working {
		w.working = true
		w.act.Busy(e.meter.Now())
	}
}

// settle ends the worker's batch: it waits for a worker that took part of
// it over to finish copying it out, and drops buf's references to the
// finished tasks.
func (e *engine[T]) settle(w *Worker[T]) {
	if _, end := unpackClaim(w.claim.Load()); end < w.n {
		// A taker copied part of the batch out under the lock: clear it
		// only once the copy is done.
		w.takers.Lock()
		clear(w.buf[:w.n])
		w.takers.Unlock()
	} else {
		clear(w.buf[:w.n])
	}
	w.pos, w.n = 0, 0
}

// publish makes buf[:n], taken from shard from, the worker's batch. A
// worker that parked after the queue looked empty but before the batch
// was published saw no held tasks either: wake it to take some over.
func (e *engine[T]) publish(w *Worker[T], n, from int) {
	w.n, w.from, w.handed = n, from, false
	w.gen++
	w.claim.Store(packClaim(w.gen, 0, n))
	if n > 1 && e.sleep.Parked() > 0 {
		e.sleep.Wake()
	}
}

// takeHeld takes over, into w's empty buffer, half (rounded up) of the
// tasks another worker took from the queue and has not started: that
// worker may be running a long task, and they would wait for it. It
// returns how many it took and from which shard they came.
func (e *engine[T]) takeHeld(w *Worker[T]) (k, from, attempt int) {
	if !e.q.holding() {
		return 0, 0, 0
	}
	n := int(e.slots.Load())
	start := RandN(n)
	for j := range n {
		v := e.workers[(start+j)%n]
		if v == w || v == nil {
			continue
		}
		if pos, end := v.unstarted(); pos == end {
			continue
		}
		v.takers.Lock()
		for {
			c := v.claim.Load()
			pos, end := unpackClaim(c)
			if pos >= end {
				break
			}
			k = (end - pos + 1) / 2
			if v.claim.CompareAndSwap(c, packClaim(c>>(2*claimBits), pos, end-k)) {
				// buf[end-k:end] are ours: the owner reads no slot at or
				// past the end, and refills buf only after takers.
				copy(w.buf[:k], v.buf[end-k:end])
				from, attempt = v.from, v.attempt
				break
			}
			k = 0
		}
		v.takers.Unlock()
		if k > 0 {
			return k, from, attempt
		}
	}
	return 0, 0, 0
}

// retired reports whether the worker's slot is above the target size.
func (e *engine[T]) retired(w *Worker[T]) bool {
	return w.id >= int(e.target.Load())
}

// mayRetire reports whether a retired worker may leave now: not while it
// is the last worker and tasks wait. A dynamic pool scaling to zero
// workers stores its target before it looks at the queue, and a submitter
// pushes before it looks at the target (to start a worker if it is zero),
// so one of the two sees the other: no accepted task is left without a
// worker.
func (e *engine[T]) mayRetire() bool {
	return e.q.empty() && !e.retrying() || e.life.Live() > 1
}

// idle waits until there may be work. It reports whether the worker goes
// on (false: the pool is stopped, or draining with nothing left), and
// whether it parked: if not, it saw work, or a reason to look again.
func (e *engine[T]) idle(w *Worker[T]) (goOn, waited bool) {
	looks := w.slice.Looks(&e.meter.Clock)
	w.slice.Reset()
	if decided, goOn := lookFor(e.sleep, looks, &e.life, e, &e.meter.Clock); decided {
		return goOn, false
	}
	e.sleep.Register(w.id)
	// Look again after registering: a submitter that pushed, or a worker
	// that published a batch, before seeing us parked did not wake anyone,
	// and a resize or Stop that woke the parked workers before we
	// registered did not wake us.
	if st := e.life.State(); st == Stopped || st == Draining && !e.retrying() || e.takeable() || e.retired(w) && e.mayRetire() {
		if !e.sleep.Cancel(w.id) {
			// A wake-up is already on its way, maybe with a task
			// (handTo): consume it.
			e.sleep.Wait(w.id)
			if w.n > 0 {
				return true, true // refill runs or settles it
			}
		}
		st := e.life.State()
		return st == Open || st == Draining && (e.waiting() || e.retrying()), false
	}
	if w.act != nil && w.working {
		// The activity (dynamic pools) reads the clock, so it hears only
		// of parking, which costs microseconds anyway, not of every empty
		// look at the queue: a worker is busy until it parks.
		w.working = false
		w.act.Idle(e.meter.Now())
	}
	e.sleep.Wait(w.id)
	return true, true
}

// queued reports whether an accepted task waits that a looking worker
// could take (lookFor).
func (e *engine[T]) queued() bool { return e.takeable() }

// takeable reports whether an accepted task waits that an idle worker
// could take: queued, held unstarted in another worker's batch, or a due
// retry. Unlike waiting, it leaves out the tasks another worker took from
// the queue and has not yet published in its batch, or claimed and not
// yet counted as started: that worker runs them, and no other can take
// them. A worker that looked for those would find them again at every
// look and spin until their taker ran again, which may be waiting for the
// looker's CPU (see takeBatch). A taker that publishes a batch of several
// wakes a parked worker (publish), so parking meanwhile loses none.
func (e *engine[T]) takeable() bool {
	return !e.q.empty() || e.q.holding() && e.heldUnstarted() || e.rt != nil && e.rt.hasReady()
}

// heldUnstarted reports whether a worker's batch has tasks that neither
// it nor a taker has started (takeHeld could take them).
func (e *engine[T]) heldUnstarted() bool {
	for id := range int(e.slots.Load()) {
		if v := e.workers[id]; v != nil && v.holds() {
			return true
		}
	}
	return false
}

// spent reports whether a draining pool's workers have nothing left to
// come: no task waits, and no retry is pending.
func (e *engine[T]) spent() bool { return !e.waiting() && !e.retrying() }

// waiting reports whether an accepted task waits for a worker: queued, or
// taken in another worker's batch and not started.
func (e *engine[T]) waiting() bool {
	return !e.q.empty() || e.q.holding() || e.rt != nil && e.rt.hasReady()
}

// workerExit runs when a worker goroutine ends: normally (the pool is
// stopping or the slot retired), or because its task panicked or called
// runtime.Goexit, in which case the panic is counted and reported and a
// new goroutine takes the worker's place.
func (e *engine[T]) workerExit(w *Worker[T]) {
	e.life.ExitWorker(w.env)
	if w.exiting {
		e.mu.Lock()
		if e.stay(w) {
			w.exiting = false
			e.mu.Unlock()
			go e.work(w)
			return
		}
		w.alive = false
		now := e.meter.Now()
		w.meter.Stop(now)
		if w.act != nil {
			w.act.Stop(now)
		}
		// A retiring worker may have been woken for a task it leaves to
		// others (it was parked when a submitter woke it, just as the
		// pool shrank): pass the wake-up on. Before the exit is counted:
		// the last worker's exit ends Shutdown, and nothing of the pool
		// runs after that.
		if e.waiting() {
			e.sleep.Wake()
		}
		e.life.WorkerExited() // under e.mu, so that stay sees exits in order
		e.mu.Unlock()
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
	var t T
	var x *Waiter
	if w.pos > 0 {
		s := &w.buf[w.pos-1]
		t, x, s.x = s.task, s.x, nil
	}
	w.meter.Panicked.Add(1)
	if g := e.hooks.brk; g != nil {
		g.recordPanic(&w.tk)
	}
	if e.rt != nil {
		e.ended(e.rt) // a panic is never retried
	}
	defer func() { go e.work(w) }() // even if OnPanic calls runtime.Goexit
	if x == nil {
		e.hooks.panicked(t, v)
		return
	}
	reported, stack := v, []byte(nil)
	defer func() { x.finishPanic(t, reported, stack) }() // even if OnPanic calls runtime.Goexit
	reported, stack = e.hooks.panicked(t, v)
}

// stay reports whether a worker that decided to exit must go on after all
// (e.mu is held): a resize raised the target above its slot after it
// decided to retire, and saw it alive so started no one in its place; or
// it is the last worker and tasks it did not see arrived meanwhile.
func (e *engine[T]) stay(w *Worker[T]) bool {
	switch e.life.State() {
	case Stopped:
		return false
	case Open:
		if !e.retired(w) {
			return true
		}
	}
	return e.life.Live() == 1 && (!e.q.empty() || e.retrying())
}

// shutdown stops intake, lets the workers finish the queue and waits.
func (e *engine[T]) shutdown(ctx context.Context) error {
	e.stop(Draining)
	return e.life.Wait(ctx)
}

// shutdownNow stops the workers and returns every task that never
// started, from the workers' batches first (they are older), then the
// queue. Only the first call returns tasks.
func (e *engine[T]) shutdownNow() []T {
	e.stop(Stopped)
	<-e.life.Exited()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.returned {
		return nil
	}
	e.returned = true
	var out []T
	for _, w := range e.workers {
		if w == nil {
			continue
		}
		pos, end := w.unstarted()
		for j := pos; j < end; j++ {
			out = append(out, w.buf[j].task)
			if x := w.buf[j].x; x != nil {
				x.finishReturned()
			}
		}
		if pos < end && w.from >= 0 {
			e.q.release(w.from, end-pos) // tasks handed back never start
		}
		clear(w.buf[:])
		w.pos, w.n = 0, 0
		w.gen++
		w.claim.Store(packClaim(w.gen, 0, 0))
	}
	out = e.q.drain(out)
	if e.rt != nil {
		out = e.rt.drain(out)
	}
	e.meter.Returned(len(out))
	return out
}

// stop closes intake, moves to state to and wakes every parked worker. A
// pool that never started a worker has exited at once.
func (e *engine[T]) stop(to State) {
	e.mu.Lock() // no resize starts workers from here on
	e.life.Stop(to, func() {
		e.q.close()
		// A dynamic pool scaled to zero workers may have accepted tasks
		// whose submitter has not started a worker yet: start one to run
		// them, before Stop finds no worker and declares the pool exited.
		if to == Draining && e.life.Live() == 0 && !e.q.empty() {
			e.resizeLocked(max(1, int(e.target.Load())))
		}
	})
	e.mu.Unlock()
	e.stopPace()
	e.sleep.WakeAll()
}

func (e *engine[T]) stats() poolrt.Stats {
	st := e.meter.Snapshot(e.live(), e.q.len(), e.q.capacity)
	st.Paced = e.pace.paced.Load()
	e.life.WorkerStats(&st)
	return st
}

// endRetried ends the task that returned err in a pool with retries or
// dead letters (retryOutcome).
func (w *Worker[T]) endRetried(rt *retries[T], err error) {
	e := w.e
	x := w.cur.x
	w.cur.x = nil // it travels with the task if retried
	if retryOutcome(rt, e.meter, w.meter, &e.hooks, &w.cur.task, &w.cur.task, x, max(w.attempt, 1), err,
		&w.hooking, func() { e.ended(rt) }) {
		e.drained()
	}
}

// ended gives back the token of a task that reached its final outcome.
func (e *engine[T]) ended(rt *retries[T]) {
	rt.release()
	e.life.Room()
	e.drained()
}

// drained wakes the parked workers of a draining pool, which may wait for
// retries that are no longer to come.
func (e *engine[T]) drained() {
	if e.life.State() == Draining {
		e.sleep.WakeAll()
	}
}
