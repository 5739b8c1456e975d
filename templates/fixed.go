package templates

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// FixedPool runs tasks of type T on a fixed number of worker goroutines fed
// by a bounded, sharded queue.
//
// Submissions are spread over shards (one per worker, at most one per
// processor) and workers take tasks in batches, so neither submitters nor
// workers all meet on one lock. Order is FIFO within a shard and only
// roughly FIFO overall. Tasks are stored by value in preallocated slots:
// submitting and running one allocates nothing.
//
// Every accepted task runs exactly once, or is returned by ShutdownNow. A
// task that panics is recovered, counted and reported (see poolrt.OnPanic);
// its worker is replaced and the pool keeps serving.
//
// A FixedPool is safe for concurrent use. Create one with NewFixedPool.
type FixedPool[T Task] struct {
	state atomic.Uint32 // read by workers between tasks
	_     [poolrt.CacheLinePad - 4]byte
	// waiting counts submitters blocked on a full queue; workers read it
	// after every batch they take.
	waiting atomic.Int32
	_       [poolrt.CacheLinePad - 4]byte

	q       queue[T]
	workers []fixedWorker[T]
	sleep   *poolrt.Sleepers
	meter   *poolrt.Meter
	set     poolrt.Settings

	ctx    context.Context // passed to every Run; cancelled by ShutdownNow
	cancel context.CancelFunc

	space   chan struct{} // a token: a worker made room (capacity 1)
	closing chan struct{} // closed when intake stops
	exited  chan struct{} // closed when the last worker has exited
	live    atomic.Int32  // workers not yet exited

	closeOnce sync.Once
	mu        sync.Mutex // guards returned
	returned  bool       // ShutdownNow has handed the unstarted tasks back
}

// fixedWorker is one worker's state. It lives in the pool, not on the
// worker's stack, so that a replacement worker (after a panic) resumes the
// batch and ShutdownNow can collect the tasks it never started.
type fixedWorker[T Task] struct {
	id      int
	home    int // home shard
	pos, n  int // buf[pos:n] are taken but not yet started
	from    int // the shard buf was taken from
	exiting bool
	meter   *poolrt.WorkerMeter
	buf     [maxBatch]slot[T]
	_       [poolrt.CacheLinePad]byte
}

// NewFixedPool starts a pool configured by opts: poolrt.Workers (default
// GOMAXPROCS), poolrt.QueueSize, poolrt.OnFull, poolrt.OnPanic,
// poolrt.OnError, poolrt.Metrics and poolrt.LatencySampling. A bad option is
// reported as a *poolrt.ConfigError and no goroutine is started.
func NewFixedPool[T Task](opts ...poolrt.Option) (*FixedPool[T], error) {
	set, err := poolrt.Resolve(poolrt.Fixed, opts)
	if err != nil {
		return nil, err
	}
	p := &FixedPool[T]{
		set:     set,
		meter:   poolrt.NewMeter(&set, set.Workers, set.Shards),
		sleep:   poolrt.NewSleepers(set.Workers),
		workers: make([]fixedWorker[T], set.Workers),
		space:   make(chan struct{}, 1),
		closing: make(chan struct{}),
		exited:  make(chan struct{}),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.q.init(set.QueueSize, set.Shards, set.Workers, p.meter)
	p.live.Store(int32(set.Workers))
	for i := range p.workers {
		w := &p.workers[i]
		w.id, w.home, w.meter = i, i%set.Shards, &p.meter.Workers[i]
		go p.work(w)
	}
	return p, nil
}

// Submit queues t, waiting while the queue is full (under the default
// poolrt.Block policy) until there is room, ctx is done (ctx's error is
// returned) or the pool shuts down (ErrClosed). Under poolrt.Reject it
// returns poolrt.ErrQueueFull instead of waiting; under poolrt.CallerRuns it
// runs t on the calling goroutine. ctx only bounds the wait: the task runs
// with the pool's context.
func (p *FixedPool[T]) Submit(ctx context.Context, t T) error {
	r := p.q.push(t)
	if r == pushed {
		p.sleep.Wake()
		return nil
	}
	return p.submitSlow(ctx, t, r)
}

// TrySubmit queues t if there is room and never blocks: it returns
// poolrt.ErrQueueFull when the queue is full and poolrt.ErrClosed after
// shutdown, whatever the backpressure policy.
func (p *FixedPool[T]) TrySubmit(t T) error {
	switch p.q.push(t) {
	case pushed:
		p.sleep.Wake()
		return nil
	case pushClosed:
		return poolrt.ErrClosed
	}
	if p.state.Load() != stateOpen {
		return poolrt.ErrClosed
	}
	p.meter.Shards[poolrt.RandN(len(p.meter.Shards))].Rejected.Add(1)
	return poolrt.ErrQueueFull
}

func (p *FixedPool[T]) submitSlow(ctx context.Context, t T, r pushResult) error {
	if r == pushClosed || p.state.Load() != stateOpen {
		return poolrt.ErrClosed
	}
	switch p.set.Backpressure {
	case poolrt.Reject:
		p.meter.Shards[poolrt.RandN(len(p.meter.Shards))].Rejected.Add(1)
		return poolrt.ErrQueueFull
	case poolrt.CallerRuns:
		p.runCaller(t)
		return nil
	}
	// Register as waiting before retrying: a worker that makes room after
	// our retry failed then sees waiting > 0 and leaves a token in space.
	p.waiting.Add(1)
	defer p.waiting.Add(-1)
	for {
		switch p.q.push(t) {
		case pushed:
			p.sleep.Wake()
			if p.waiting.Load() > 1 && p.q.len() < p.q.capacity {
				p.signalSpace() // pass the wake-up on: there may be room for more
			}
			return nil
		case pushClosed:
			return poolrt.ErrClosed
		}
		select {
		case <-p.space:
		case <-ctx.Done():
			return ctx.Err()
		case <-p.closing:
			return poolrt.ErrClosed
		}
	}
}

func (p *FixedPool[T]) signalSpace() {
	select {
	case p.space <- struct{}{}:
	default:
	}
}

// runCaller runs t on the submitter's goroutine (CallerRuns policy),
// recovering a panic so that it never reaches the caller.
func (p *FixedPool[T]) runCaller(t T) {
	p.meter.Shards[poolrt.RandN(len(p.meter.Shards))].CallerRuns.Add(1)
	panicking := true
	defer func() {
		if panicking {
			p.meter.CallerDone(nil, true)
			p.set.TaskPanicked(t, recover())
		}
	}()
	err := t.Run(p.ctx)
	panicking = false
	p.meter.CallerDone(err, false)
	if err != nil {
		p.set.TaskFailed(err)
	}
}

// work is a worker's loop: take a batch, run it, repeat.
func (p *FixedPool[T]) work(w *fixedWorker[T]) {
	defer p.workerExit(w)
	for {
		if w.pos == w.n && !p.refill(w) {
			w.exiting = true
			return
		}
		if p.state.Load() == stateStopped {
			w.exiting = true
			return
		}
		s := &w.buf[w.pos]
		w.pos++
		p.started(w)
		if s.enq == 0 {
			err := s.task.Run(p.ctx)
			w.meter.Done(err)
			if err != nil {
				p.set.TaskFailed(err)
			}
			continue
		}
		p.runTimed(w, s)
	}
}

// started returns the queue slot of the task the worker is about to start
// and passes a wake-up to a submitter waiting for room.
func (p *FixedPool[T]) started(w *fixedWorker[T]) {
	p.q.release(w.from, 1)
	if p.waiting.Load() > 0 {
		p.signalSpace()
	}
}

// runTimed runs a sampled task and records its queue wait and run time.
func (p *FixedPool[T]) runTimed(w *fixedWorker[T], s *slot[T]) {
	m := &p.meter.Shards[w.home]
	start := p.meter.Now()
	m.Wait.Record(time.Duration(start - s.enq))
	err := s.task.Run(p.ctx)
	d := p.meter.Since(start)
	m.Run.Record(d)
	w.meter.BusyNanos.Add(uint64(d) * uint64(p.meter.SampleEvery))
	w.meter.Done(err)
	if err != nil {
		p.set.TaskFailed(err)
	}
}

// refill takes the worker's next batch, waiting for one if need be. It
// reports false when the worker should exit.
func (p *FixedPool[T]) refill(w *fixedWorker[T]) bool {
	clear(w.buf[:w.n]) // drop references to finished tasks
	w.pos, w.n = 0, 0
	for {
		if p.state.Load() == stateStopped {
			return false
		}
		if n, from := p.q.take(w.home, w.buf[:]); n > 0 {
			w.n, w.from = n, from
			w.meter.SetBusy(true)
			return true
		}
		w.meter.SetBusy(false)
		if !p.idle(w) {
			return false
		}
	}
}

// idle waits until there may be work. It reports false when the worker
// should exit: the pool is stopped, or draining with nothing left.
func (p *FixedPool[T]) idle(w *fixedWorker[T]) bool {
	for range idleSpins {
		if st := p.state.Load(); st != stateOpen {
			return st == stateDraining && !p.q.empty()
		}
		if !p.q.empty() {
			return true
		}
		runtime.Gosched()
	}
	p.sleep.Register(w.id)
	// Look again after registering: a submitter that pushed before seeing
	// us parked did not wake anyone.
	if p.state.Load() != stateOpen || !p.q.empty() {
		if !p.sleep.Cancel(w.id) {
			p.sleep.Wait(w.id) // a wake-up is already on its way; consume it
		}
		st := p.state.Load()
		return st == stateOpen || st == stateDraining && !p.q.empty()
	}
	p.sleep.Wait(w.id)
	return true
}

// workerExit runs when a worker's goroutine ends: normally, or because its
// task panicked or called runtime.Goexit, in which case the panic is
// counted and reported and a new goroutine takes the worker's place.
func (p *FixedPool[T]) workerExit(w *fixedWorker[T]) {
	if w.exiting {
		w.meter.SetBusy(false)
		if p.live.Add(-1) == 0 {
			close(p.exited)
		}
		return
	}
	v := recover()
	var t T
	if w.pos > 0 {
		t = w.buf[w.pos-1].task
	}
	w.meter.Panicked.Add(1)
	p.set.TaskPanicked(t, v)
	go p.work(w)
}

// Shutdown stops intake, lets the workers finish every queued task and
// waits for them to exit. Submit and TrySubmit return poolrt.ErrClosed from
// the moment Shutdown is called. If ctx is done first, Shutdown returns
// ctx's error while the pool goes on draining; ShutdownNow then stops it.
func (p *FixedPool[T]) Shutdown(ctx context.Context) error {
	p.stop(stateDraining)
	select {
	case <-p.exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ShutdownNow stops intake, cancels the context passed to running tasks,
// waits for the workers to finish their current task and exit, and returns
// every accepted task that never started, roughly oldest first. Only the
// first call returns tasks.
func (p *FixedPool[T]) ShutdownNow() []T {
	p.stop(stateStopped)
	p.cancel()
	<-p.exited
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.returned {
		return nil
	}
	p.returned = true
	var out []T
	for i := range p.workers {
		w := &p.workers[i]
		for j := w.pos; j < w.n; j++ {
			out = append(out, w.buf[j].task)
		}
		if w.pos < w.n {
			p.q.release(w.from, w.n-w.pos) // tasks handed back never start
		}
		clear(w.buf[:])
		w.pos, w.n = 0, 0
	}
	out = p.q.drain(out)
	p.meter.Returned(len(out))
	return out
}

// stop closes intake and moves the pool to state to (never backwards).
func (p *FixedPool[T]) stop(to uint32) {
	p.closeOnce.Do(func() {
		p.q.close()
		close(p.closing)
	})
	for {
		cur := p.state.Load()
		if cur >= to || p.state.CompareAndSwap(cur, to) {
			break
		}
	}
	p.sleep.WakeAll()
}

// Stats returns a snapshot of the pool's metrics.
func (p *FixedPool[T]) Stats() poolrt.Stats {
	return p.meter.Snapshot(int(p.live.Load()), p.q.len(), p.q.capacity)
}
