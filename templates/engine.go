package templates

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// engine is the machinery FixedPool and DynamicPool share: a sharded queue
// fed by submitters, drained in batches by worker goroutines, with
// parking, panic recovery, shutdown and metrics. It can grow and shrink
// its worker count (resize); the fixed pool never asks it to.
type engine[T Task] struct {
	feed[T]

	// target is how many workers should run: worker slots [0, target)
	// are filled, and a worker whose slot is at or above target retires
	// at its next idle moment.
	target  atomic.Int32
	mu      sync.Mutex   // guards workers' alive flags, spawning, exits and returned
	workers []*worker[T] // by slot; nil until first used
	// returned: ShutdownNow has handed the unstarted tasks back.
	returned bool
	// acts, when set (dynamic pools), records each worker's busy and idle
	// time for the scaling controller. Set before init.
	acts *poolrt.Activities

	// runs sizes the batches workers take (poolrt.BatchBudget).
	runs poolrt.RunMean
}

// worker is one worker slot's state. It lives in the engine, not on the
// worker goroutine's stack, so that a replacement goroutine (after a
// panic) resumes the batch and ShutdownNow can collect the tasks it never
// started.
type worker[T Task] struct {
	id      int
	home    int // home shard
	pos, n  int // buf[pos:n] are taken but not yet started
	from    int // the shard buf was taken from
	exiting bool
	alive   bool // a goroutine runs this slot (guarded by engine.mu)
	working bool // act was last told busy (dynamic pools)
	meter   *poolrt.WorkerMeter
	act     *poolrt.Activity // nil unless the engine has acts
	slice   poolrt.Slice
	buf     [maxBatch]slot[T]
	_       [poolrt.CacheLinePad]byte
}

// init prepares an engine for up to slots workers and starts workers of
// them.
func (e *engine[T]) init(set poolrt.Settings, slots, workers int) {
	e.initFeed(set, slots, workers)
	e.workers = make([]*worker[T], slots)
	e.resize(workers)
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
	case poolrt.Open:
	case poolrt.Draining:
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
			w = &worker[T]{id: id, home: id % len(e.q.shards), meter: e.meter.Worker(id)}
			if e.acts != nil {
				w.act = e.acts.Slot(id)
			}
			e.workers[id] = w
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

// work is a worker's loop: take a batch, run it, repeat.
func (e *engine[T]) work(w *worker[T]) {
	defer e.workerExit(w)
	ctx := e.life.Context()
	for {
		if w.pos == w.n && !e.refill(w) {
			w.exiting = true
			return
		}
		if e.life.State() == poolrt.Stopped {
			w.exiting = true
			return
		}
		w.slice.Next(&e.meter.Clock, e.sleep)
		s := &w.buf[w.pos]
		w.pos++
		e.q.release(w.from, 1) // its queue slot is free once it starts
		e.life.Room()
		if s.enq == 0 {
			err := s.task.Run(ctx)
			w.meter.Done(err)
			if err != nil {
				e.set.TaskFailed(err)
			}
			continue
		}
		e.runTimed(w, s)
	}
}

// runTimed runs a sampled task and records its queue wait and run time.
func (e *engine[T]) runTimed(w *worker[T], s *slot[T]) {
	m := &e.meter.Shards[w.home]
	start := e.meter.Now()
	m.Wait.Record(time.Duration(start - s.enq))
	err := s.task.Run(e.life.Context())
	d := e.meter.Since(start)
	m.Run.Record(d)
	e.runs.Record(d)
	w.meter.BusyNanos.Add(uint64(d) * uint64(e.meter.SampleEvery))
	w.meter.Done(err)
	if err != nil {
		e.set.TaskFailed(err)
	}
}

// refill takes the worker's next batch, waiting for one if need be. It
// reports false when the worker should exit.
func (e *engine[T]) refill(w *worker[T]) bool {
	clear(w.buf[:w.n]) // drop references to finished tasks
	w.pos, w.n = 0, 0
	for {
		if e.life.State() == poolrt.Stopped || e.retired(w) && e.mayRetire() {
			return false
		}
		// While workers are parked, take one task at a time: a batch would
		// make its tasks wait behind each other while a parked worker,
		// woken for them, finds nothing. Batches are for busy pools, and
		// for short tasks (poolrt.BatchBudget).
		limit := e.runs.Batch(e.meter.SampleEvery, maxBatch)
		if e.sleep.Parked() > 0 {
			limit = 1
		}
		if n, from := e.q.take(w.home, w.buf[:limit]); n > 0 {
			w.n, w.from = n, from
			w.meter.SetBusy(true)
			if w.act != nil && !w.working {
				w.working = true
				w.act.Busy(e.meter.Now())
			}
			return true
		}
		w.meter.SetBusy(false)
		if !e.idle(w) {
			return false
		}
	}
}

// retired reports whether the worker's slot is above the target size.
func (e *engine[T]) retired(w *worker[T]) bool {
	return w.id >= int(e.target.Load())
}

// mayRetire reports whether a retired worker may leave now: not while it
// is the last worker and tasks wait. A dynamic pool scaling to zero
// workers stores its target before it looks at the queue, and a submitter
// pushes before it looks at the target (to start a worker if it is zero),
// so one of the two sees the other: no accepted task is left without a
// worker.
func (e *engine[T]) mayRetire() bool {
	return e.q.empty() || e.life.Live() > 1
}

// idle waits until there may be work. It reports false when the worker
// should exit: the pool is stopped, or draining with nothing left.
func (e *engine[T]) idle(w *worker[T]) bool {
	w.slice.Reset()
	for range poolrt.IdleLooks {
		if st := e.life.State(); st != poolrt.Open {
			return st == poolrt.Draining && !e.q.empty()
		}
		if !e.q.empty() {
			return true
		}
		runtime.Gosched()
	}
	e.sleep.Register(w.id)
	// Look again after registering: a submitter that pushed before seeing
	// us parked did not wake anyone, and a resize or Stop that woke the
	// parked workers before we registered did not wake us.
	if e.life.State() != poolrt.Open || !e.q.empty() || e.retired(w) {
		if !e.sleep.Cancel(w.id) {
			e.sleep.Wait(w.id) // a wake-up is already on its way; consume it
		}
		st := e.life.State()
		return st == poolrt.Open || st == poolrt.Draining && !e.q.empty()
	}
	if w.act != nil && w.working {
		// The activity (dynamic pools) reads the clock, so it hears only
		// of parking, which costs microseconds anyway, not of every empty
		// look at the queue: a worker is busy until it parks.
		w.working = false
		w.act.Idle(e.meter.Now())
	}
	e.sleep.Wait(w.id)
	return true
}

// workerExit runs when a worker goroutine ends: normally (the pool is
// stopping or the slot retired), or because its task panicked or called
// runtime.Goexit, in which case the panic is counted and reported and a
// new goroutine takes the worker's place.
func (e *engine[T]) workerExit(w *worker[T]) {
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
		e.life.WorkerExited() // under e.mu, so that stay sees exits in order
		e.mu.Unlock()
		// A retiring worker may have been woken for a task it leaves to
		// others (it was parked when a submitter woke it, just as the
		// pool shrank): pass the wake-up on.
		if !e.q.empty() {
			e.sleep.Wake()
		}
		return
	}
	v := recover()
	var t T
	if w.pos > 0 {
		t = w.buf[w.pos-1].task
	}
	w.meter.Panicked.Add(1)
	e.set.TaskPanicked(t, v)
	go e.work(w)
}

// stay reports whether a worker that decided to exit must go on after all
// (e.mu is held): a resize raised the target above its slot after it
// decided to retire, and saw it alive so started no one in its place; or
// it is the last worker and tasks it did not see arrived meanwhile.
func (e *engine[T]) stay(w *worker[T]) bool {
	switch e.life.State() {
	case poolrt.Stopped:
		return false
	case poolrt.Open:
		if !e.retired(w) {
			return true
		}
	}
	return e.life.Live() == 1 && !e.q.empty()
}

// shutdown stops intake, lets the workers finish the queue and waits.
func (e *engine[T]) shutdown(ctx context.Context) error {
	e.stop(poolrt.Draining)
	return e.life.Wait(ctx)
}

// shutdownNow stops the workers and returns every task that never
// started, from the workers' batches first (they are older), then the
// queue. Only the first call returns tasks.
func (e *engine[T]) shutdownNow() []T {
	e.stop(poolrt.Stopped)
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
		for j := w.pos; j < w.n; j++ {
			out = append(out, w.buf[j].task)
		}
		if w.pos < w.n {
			e.q.release(w.from, w.n-w.pos) // tasks handed back never start
		}
		clear(w.buf[:])
		w.pos, w.n = 0, 0
	}
	out = e.q.drain(out)
	e.meter.Returned(len(out))
	return out
}

// stop closes intake, moves to state to and wakes every parked worker. A
// pool that never started a worker has exited at once.
func (e *engine[T]) stop(to poolrt.State) {
	e.mu.Lock() // no resize starts workers from here on
	e.life.Stop(to, func() {
		e.q.close()
		// A dynamic pool scaled to zero workers may have accepted tasks
		// whose submitter has not started a worker yet: start one to run
		// them, before Stop finds no worker and declares the pool exited.
		if to == poolrt.Draining && e.life.Live() == 0 && !e.q.empty() {
			e.resizeLocked(max(1, int(e.target.Load())))
		}
	})
	e.mu.Unlock()
	e.sleep.WakeAll()
}

func (e *engine[T]) stats() poolrt.Stats {
	return e.meter.Snapshot(e.live(), e.q.len(), e.q.capacity)
}
