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

// Stealing is the work-stealing pool's implementation
// (templates.StealingPool documents it): a fixed number of workers, each
// with its own deque of tasks, fed by a shared injector queue; idle
// workers steal from busy ones, and tasks fork subtasks onto their
// worker's deque.
type Stealing[T any] struct {
	feed[T] // its queue is the injector
	steals  *StealMeters
	workers []*StealWorker[T] // by slot, all made before any starts

	// The fields above are read on every Submit and Fork; spinning
	// changes whenever a worker runs out of work: a line of its own.
	_ [CacheLinePad]byte
	// spinning counts workers looking for work: neither running a task
	// nor parked. Producers skip waking a parked worker while one looks:
	// it will find the work, or see it when it registers to park.
	spinning atomic.Int32
	// drained is set once Shutdown's drain is over: every worker was
	// parked with nothing queued, and the deques are closed.
	drained atomic.Bool
	_       [CacheLinePad]byte

	mu       sync.Mutex // serializes the end of a drain and ShutdownNow's hand-back
	returned bool       // ShutdownNow has handed the unstarted tasks back

	// runs sizes the batches workers take from the injector
	// (poolrt.BatchBudget).
	runs RunMean
}

// StealWorker is one worker slot's state, and what the lane's Steal loop
// calls to run its tasks (see Lane). It lives in the pool, not on
// the worker goroutine's stack, so that a replacement goroutine (after a
// panic) takes over its deque and ShutdownNow can collect what is queued.
type StealWorker[T any] struct {
	dq   deque[T]
	pool *Stealing[T]
	// ctx is passed to every Run of this worker: the pool's context,
	// plus the worker for Fork. ctxi is the same pointer as an interface,
	// converted once.
	ctx     stealCtx[T]
	ctxi    context.Context
	id      int
	home    int     // injector shard the worker takes from first
	cur     T       // the task running now, for panic reports
	curX    *Waiter // cur's completion handle (SubmitWait), or nil
	began   int64   // when cur started, if it is sampled; else 0
	running bool    // cur started and has not ended (First, Next)
	hooking bool    // in OnError, whose runtime.Goexit must not count cur again
	fair    int     // forked tasks to run before the next look at the injector
	exiting bool
	meter   *WorkerMeter
	steal   *StealMeter
	buf     [maxBatch]slot[T] // an injector batch on its way into dq
	slice   Slice
	_       [CacheLinePad]byte
	region  taskRegion
	tc      *taskCtx       // the tasks' context when they may have a timeout, else nil
	tk      breaker.Ticket // the running task's circuit breaker ticket (breaker.go)
	env     *Env           // pins the worker and holds its resource; nil without either
	// attempt is cur's attempt number when it came from the delay queue
	// (retry.go), else 0: its first run.
	attempt int
	// token: cur holds one of the retries' tokens (QueueSize): it was
	// submitted, forked to the injector, or waited in the delay queue.
	// A subtask forked onto a deque holds none until it waits there.
	token bool
}

// metaDelayed marks a task taken from the delay queue (retry.go): it
// never goes onto a deque, so the bit is free.
const metaDelayed = 1 << 30

// stealKey is the context key under which a worker's context carries its
// worker.
type stealKey struct{}

// stealCtx is a worker's context: the pool's context, and the worker for
// Fork to find. Made once per worker, so passing it allocates nothing.
type stealCtx[T any] struct {
	context.Context
	w *StealWorker[T]
}

// Value returns the worker for stealKey and defers to the pool's context
// for any other key, so that contexts derived from it (WithValue,
// WithCancel, ...) still lead Fork to the worker.
func (c *stealCtx[T]) Value(key any) any {
	if _, ok := key.(stealKey); ok {
		return c.w
	}
	return c.Context.Value(key)
}

// fairnessPeriod: a worker that keeps running subtasks forked onto its own
// deque looks at the injector once every this many, so that an endless
// stream of forks cannot starve submitted tasks. Prime (the Go scheduler
// uses 61 for its global run queue too), so that it does not fall into
// step with the shape of a task tree.
const fairnessPeriod = 61

// Init starts the pool configured by opts, running tasks through lane, or
// returns a *poolrt.ConfigError and starts nothing.
func (p *Stealing[T]) Init(opts []poolrt.Option, lane Lane[T]) error {
	set, err := config.Resolve(config.Stealing, opts)
	if err != nil {
		return err
	}
	n := set.Workers
	if err := p.initFeed(set, config.Stealing, n, n, lane); err != nil {
		return err
	}
	p.steals = NewStealMeters(n)
	p.workers = make([]*StealWorker[T], n)
	for id := range n {
		w := &StealWorker[T]{
			pool:   p,
			id:     id,
			home:   id % set.Shards,
			fair:   fairnessPeriod,
			meter:  p.meter.Worker(id),
			steal:  &p.steals.Workers[id],
			region: taskRegion{kind: p.life.region},
		}
		w.dq.init(set.Stealing.DequeSize)
		w.ctx = stealCtx[T]{Context: p.life.Context(), w: w}
		if p.timeouts.on() || p.rt != nil || set.Propagate != config.PropagateNone {
			w.tc = newTaskCtx(p.life.Context())
			w.ctx.Context = w.tc
		}
		w.env, w.ctx.Context = p.life.NewEnv(id, w.ctx.Context)
		w.ctxi = &w.ctx
		p.workers[id] = w
	}
	for _, w := range p.workers {
		w.meter.Start(p.meter.Now())
		p.life.WorkerStarted()
		go p.work(w)
	}
	p.life.List(p.meter, p.Stats, nil)
	return nil
}

// Submit queues t on the injector, waiting while it is full (under the
// default poolrt.Block policy) until there is room, ctx is done (ctx's
// error is returned) or the pool shuts down (poolrt.ErrClosed). Under
// poolrt.Reject it returns poolrt.ErrQueueFull instead of waiting; under
// poolrt.CallerRuns it runs t on the calling goroutine. ctx only bounds
// the wait: the task runs with its worker's context. Tasks use Fork, not
// Submit, for their subtasks.
func (p *Stealing[T]) Submit(ctx context.Context, t T) error { return p.submit(ctx, t) }

// SubmitWait is the pool's SubmitWait.
func (p *Stealing[T]) SubmitWait(ctx context.Context, t T) error { return p.submitWait(ctx, t) }

// Closed is the pool's Closed.
func (p *Stealing[T]) Closed() bool { return p.life.Closed() }

// TrySubmit queues t on the injector if there is room and never blocks:
// it returns poolrt.ErrQueueFull when the injector is full and
// poolrt.ErrClosed after shutdown, whatever the backpressure policy.
func (p *Stealing[T]) TrySubmit(t T) error { return p.trySubmit(t) }

// Fork queues t as a subtask of the task whose Run was passed ctx (or a
// context derived from it): onto the deque of the worker running that
// task, which runs it next unless another worker steals it first. It
// never blocks and allocates nothing. When the deque is full, or another
// goroutine is forking onto it at this instant, t goes to the injector;
// when that is full or closed (Shutdown is draining the pool), t runs at
// once on the calling goroutine, with ctx's worker context, before Fork
// returns nil; a panic of t run this way is recovered and counted as any
// task's. After ShutdownNow, and after Shutdown has drained the pool,
// Fork returns poolrt.ErrClosed.
//
// With a context that does not come from one of this pool's workers, Fork
// is Submit(ctx, t).
func (p *Stealing[T]) Fork(ctx context.Context, t T) error {
	w := p.workerOf(ctx)
	if w == nil {
		return p.Submit(ctx, t)
	}
	if p.nilable && IsNil(&t) {
		return poolrt.ErrNilTask
	}
	return p.fork(w, &t)
}

// workerOf returns the worker of this pool that ctx comes from, or nil.
func (p *Stealing[T]) workerOf(ctx context.Context) *StealWorker[T] {
	if c, ok := ctx.(*stealCtx[T]); ok { // the context Run was given: no interface call
		if c.w.pool == p {
			return c.w
		}
		return nil
	}
	if ctx == nil {
		return nil
	}
	if w, ok := ctx.Value(stealKey{}).(*StealWorker[T]); ok && w.pool == p {
		return w
	}
	return nil
}

func (p *Stealing[T]) fork(w *StealWorker[T], t *T) error {
	if p.life.State() == Stopped {
		return poolrt.ErrClosed
	}
	// With propagation on, the subtask carries its parent's submitter's
	// context, as a submitted task does, in a handle no one waits for.
	var x *Waiter
	if p.set.Propagate != config.PropagateNone {
		if from := w.tc.submitter(); from != nil {
			x = p.life.Waiter()
			x.ctx = from
			x.state.Store(waiterAbandoned)
		}
	}
	if w.dq.acquire() {
		var enq int64
		if every := p.meter.SampleEvery; every > 0 {
			if w.dq.tick--; w.dq.tick <= 0 {
				w.dq.tick = every
				enq = p.meter.Now()
			}
		}
		ok := w.dq.push(t, x, 0, enq)
		w.dq.release()
		if ok {
			p.wake()
			return nil
		}
	} else if w.dq.gate.Load() == gateClosed {
		if x != nil {
			x.cancel()
		}
		return poolrt.ErrClosed
	}
	// The deque is full (a flat loop of forks, say), or another goroutine
	// is pushing onto it (a goroutine of the task, forking with its
	// context): the injector, where every worker takes from, keeps the
	// subtasks spread; if it is full or closed, run t now.
	switch p.pushCounted(*t, x) {
	case pushed:
		p.steals.ForkToInjector()
		p.wake()
		return nil
	case pushClosed:
		if p.life.State() == Stopped {
			if x != nil {
				x.cancel()
			}
			return poolrt.ErrClosed
		}
	}
	if x != nil {
		x.cancel() // run here, under the parent's context
	}
	p.steals.ForkInline()
	RunOnCaller(w.ctxi, *t, p.lane.One, &p.hooks, p.meter, &p.timeouts)
	return nil
}

// wake wakes a parked worker after a task made work visible (a fork, or
// the rest of an injector batch on its worker's deque), unless none is
// parked (one atomic load) or one is already looking for work. No wake-up
// is lost: a worker registers as parked, stops counting as spinning, and
// then looks at every queue once more, so either it sees the work or the
// producer, which made the work visible before these loads, sees it
// parked and not spinning.
func (p *Stealing[T]) wake() {
	if p.sleep.Parked() > 0 && p.spinning.Load() == 0 {
		p.sleep.Wake()
	}
}

// work is a worker's goroutine: the lane's Steal loop runs its tasks
// (First, Next) until they find the pool stopping.
func (p *Stealing[T]) work(w *StealWorker[T]) {
	p.life.LabelWorker()
	defer p.workerExit(w)
	if w.env != nil && !p.life.StartWorker(w.env, func() bool { return !p.workVisible() }, nil) {
		w.exiting = true
		return
	}
	p.lane.Steal(w)
}

// Context returns the context to pass to the worker's tasks: the pool's,
// canceled by ShutdownNow, which also leads Fork to the worker and
// answers its resource, if workers have one.
func (w *StealWorker[T]) Context() context.Context { return w.ctxi }

// First starts the worker's next task and returns it: the newest of its
// own deque, or one found elsewhere (the injector, other deques), parking
// until there is one. It returns nil when the worker should exit. The
// lane calls it once, then Next after each task.
func (w *StealWorker[T]) First() *T {
	w.running, w.began = false, 0 // a task that panicked is not ended here
	w.region.reset()
	return w.Next(nil)
}

// Next ends the task First or Next returned, which returned err, if it
// did not panic: it counts it, records its run time if it was sampled
// and reports a failure. Then it starts the next one, as First does.
func (w *StealWorker[T]) Next(err error) *T {
	if w.running {
		w.region.end()
		w.end(err)
		w.running = false
	}
	p := w.pool
	var enq int64
	var meta uint32
	for {
		if p.life.State() == Stopped {
			w.exiting = true
			return nil
		}
		// Give way, if the slice says so, before taking the next task:
		// meanwhile it stays on the deque or in the injector, for a thief
		// or an idle worker to take (see Worker.Next).
		w.slice.Next(&p.meter.Clock, p.sleep)
		ok := false
		if w.fair <= 0 {
			w.fair = fairnessPeriod
			meta, enq, ok = p.pollInjector(w)
		}
		if !ok {
			if meta, enq, ok = w.dq.pop(&w.cur, &w.curX); ok && meta&metaShard == 0 {
				w.fair--
			}
		}
		if !ok {
			if meta, enq, ok = p.find(w); !ok {
				w.exiting = true
				return nil
			}
		}
		p.start(w, meta)
		g := p.hooks.brk
		if g == nil || g.admit(&w.cur, &w.tk) {
			break
		}
		p.refuse(w, g)
	}
	if enq != 0 {
		w.began = p.meter.Now()
		d := time.Duration(w.began - enq)
		p.meter.Shards[w.home].Wait.Record(d)
		if p.shed != nil && meta&metaShard != 0 {
			p.shed.Observe(d, w.began) // a submitted task's, not a fork's
		}
	}
	if w.tc != nil {
		w.tc.begin(p.timeouts.get(&w.cur), max(w.attempt, 1), w.curX.context(), p.set.Propagate == config.PropagateDeadline)
	}
	w.running = true
	w.region.begin(w.ctxi)
	return &w.cur
}

// end ends the task that returned err.
func (w *StealWorker[T]) end(err error) {
	p := w.pool
	if w.began != 0 {
		d := p.meter.Since(w.began)
		w.began = 0
		p.meter.Shards[w.home].Run.Record(d)
		p.runs.Record(d)
		w.meter.BusyNanos.Add(uint64(d) * uint64(p.meter.SampleEvery))
	}
	err = w.meter.ended(w.tc, err)
	if g := p.hooks.brk; g != nil {
		g.record(&w.tk, err)
	}
	if rt := p.rt; rt != nil {
		w.endRetried(rt, err)
		return
	}
	w.meter.Done(err)
	if x := w.curX; x != nil {
		w.curX = nil
		if x.finish(err) {
			return // the submitter has the outcome: it is not OnError's
		}
	}
	if err != nil {
		w.hooking = true // see workerExit
		p.hooks.failed(&w.cur, err)
		w.hooking = false
	}
}

// start does what comes before w.cur, which came with meta, runs.
func (p *Stealing[T]) start(w *StealWorker[T], meta uint32) {
	if p.rt != nil {
		if meta == metaDelayed {
			w.steal.Delayed.Add(1)
			return // w.attempt and w.token are set
		}
		// A first run: it holds a token if it came through the injector.
		w.attempt, w.token = 0, meta&metaShard != 0
	}
	if shard := meta & metaShard; shard != 0 {
		// Its injector slot is free once it starts.
		p.q.release(int(shard-1), 1)
		p.life.Room()
		if meta&metaStolen != 0 {
			w.steal.StolenInjector.Add(1)
		} else {
			w.steal.Injector.Add(1)
		}
	} else if meta&metaStolen != 0 {
		w.steal.StolenForked.Add(1)
	} // else a fork run locally: Stats derives those from Completed
}

// find looks for a task once the worker's deque is empty: spinning over
// the queues for a while, then parking until there may be work. It leaves
// the task in w.cur, or reports false when the worker should exit.
func (p *Stealing[T]) find(w *StealWorker[T]) (meta uint32, enq int64, ok bool) {
	var zero T
	w.cur = zero // drop the finished task for the garbage collector
	w.meter.SetBusy(false)
	p.spinning.Add(1)
	wait := false
	for {
		long := false
		for i := 0; ; i++ { // each a round over every queue
			if p.life.State() == Stopped || p.drained.Load() {
				p.spinning.Add(-1)
				return 0, 0, false
			}
			if meta, enq, ok = p.look(w, wait); ok {
				p.found(w)
				return meta, enq, true
			}
			if i >= IdleLooks || long {
				break
			}
			long = lookYield(&p.meter.Clock)
			// The slice restarts only once the worker has waited. One
			// that empties its deque and finds work at its first look
			// has kept its P all along: a stream of submitted tasks,
			// taken in short batches, would otherwise never end its
			// slice (at 81k tasks/s of 20 µs on 2 vCPUs the load
			// generator fell behind: P50 12–238 µs instead of 1–17).
			w.slice.Reset()
		}
		var goOn bool
		if goOn, wait = p.park(w); !goOn {
			return 0, 0, false
		}
		w.slice.Reset()
	}
}

// look makes one round over the queues: the worker's own deque (a
// goroutine of a task may have forked onto it), the injector, and the
// other workers' deques from a random one on. With wait set, it waits for
// a worker taking from the injector shard it would steal from, rather
// than pass over it (see engine.takeBatch): set after the worker's looks
// came to nothing although work was visible as it was about to park.
func (p *Stealing[T]) look(w *StealWorker[T], wait bool) (meta uint32, enq int64, ok bool) {
	if meta, enq, ok = w.dq.pop(&w.cur, &w.curX); ok {
		return meta, enq, true
	}
	// Due retries next: they are older than the injector's tasks.
	if p.rt != nil && p.takeRetry(w) {
		return metaDelayed, 0, true
	}
	// Moving tasks into the deque needs its gate. If a goroutine of a
	// task holds it (it is pushing a task we pop next round, unless it
	// was descheduled mid-push), take one task at a time meanwhile.
	held := w.dq.acquire()
	if !p.q.empty() {
		meta, enq, ok = p.takeInjector(w, held, wait)
	}
	if !ok {
		room := 0
		if held {
			// A victim holds at most DequeSize tasks, so half is at
			// most DequeSize/2 rounded up: the one we run plus the rest.
			room = w.dq.room(len(w.dq.slots) / 2)
		}
		meta, enq, ok = p.stealOne(w, room)
	}
	if held {
		w.dq.release()
	}
	return meta, enq, ok
}

// takeInjector takes a batch of the injector's oldest tasks, as many as
// poolrt.BatchBudget holds, and one only unless the caller holds the
// worker's deque gate (held): the oldest goes into w.cur, to run at once,
// the others into the deque, put in so that it pops them oldest first. It
// reports whether it took any.
func (p *Stealing[T]) takeInjector(w *StealWorker[T], held, wait bool) (meta uint32, enq int64, ok bool) {
	room := 0
	if held {
		room = w.dq.room(takeLimit(&p.set, &p.runs, false, len(w.buf)) - 1)
	}
	n, from := p.q.takeFrom(w.home, w.buf[:room+1], !wait)
	if n == 0 {
		return 0, 0, false
	}
	meta = uint32(from + 1)
	// The deque pops newest first: put the batch in backwards.
	for i := 1; i < n; i++ {
		w.dq.put(n-1-i, &w.buf[i].task, w.buf[i].x, meta, w.buf[i].enq)
	}
	if n > 1 {
		w.dq.publish(n - 1)
	}
	w.cur, w.curX, enq = w.buf[0].task, w.buf[0].x, w.buf[0].enq
	clear(w.buf[:n])
	return meta, enq, true
}

// pollInjector takes a batch from the injector, if it holds one, and
// returns the oldest task of the batch to run now; the rest go onto the
// deque, above the forked subtasks, and run next. Workers busy with forks
// call it every fairnessPeriod subtasks, so that forks cannot starve
// submitted tasks: the deque pops newest first, so a batch merely queued
// under the forks would wait for all of them.
func (p *Stealing[T]) pollInjector(w *StealWorker[T]) (meta uint32, enq int64, ok bool) {
	if p.rt != nil && p.takeRetry(w) {
		return metaDelayed, 0, true
	}
	if p.q.empty() {
		return 0, 0, false
	}
	held := w.dq.acquire()
	meta, enq, ok = p.takeInjector(w, held, false)
	if held {
		w.dq.release()
	}
	if ok && !w.dq.empty() {
		p.wake() // the rest of the batch can be stolen
	}
	return meta, enq, ok
}

// stealOne steals half of the first non-empty deque among the other
// workers', from a random one on, at most room+1 tasks: the newest goes
// into w.cur, the others into the worker's deque, whose gate the caller
// holds if room > 0.
func (p *Stealing[T]) stealOne(w *StealWorker[T], room int) (meta uint32, enq int64, ok bool) {
	n := len(p.workers)
	if n == 1 {
		return 0, 0, false
	}
	v := RandN(n)
	for range n {
		if v++; v == n {
			v = 0
		}
		victim := p.workers[v]
		if victim == w {
			continue
		}
		w.steal.StealAttempts.Add(1)
		if victim.dq.empty() {
			continue
		}
		if k, meta, enq := victim.dq.steal(&w.dq, room+1, &w.cur, &w.curX); k > 0 {
			w.steal.Steals.Add(1)
			w.steal.StolenTasks.Add(uint64(k))
			return meta, enq, true
		}
	}
	return 0, 0, false
}

// found ends a worker's search. If it was the last worker looking and
// work is still visible, it wakes a parked worker to take that: a
// producer that saw it spinning did not.
func (p *Stealing[T]) found(w *StealWorker[T]) {
	w.meter.SetBusy(true)
	if p.spinning.Add(-1) == 0 && p.sleep.Parked() > 0 && p.workVisible() {
		p.sleep.Wake()
	}
}

// workVisible reports whether any queue holds a task, the delay queue's
// due retries included.
func (p *Stealing[T]) workVisible() bool {
	if !p.q.empty() || p.rt != nil && p.rt.hasReady() {
		return true
	}
	for _, v := range p.workers {
		if !v.dq.empty() {
			return true
		}
	}
	return false
}

// park parks the worker until there may be work. It reports false when
// the worker should exit; otherwise the worker counts as spinning again,
// and seen reports that it did not park because work was visible.
func (p *Stealing[T]) park(w *StealWorker[T]) (goOn, seen bool) {
	p.sleep.Register(w.id)
	p.spinning.Add(-1)
	// Look again after registering and no longer counting as spinning: a
	// producer that made work visible before it saw us parked did not
	// wake anyone (see wake), and neither did a Stop that came first.
	st := p.life.State()
	if st == Stopped || p.drained.Load() || p.workVisible() {
		p.unregister(w)
		p.spinning.Add(1)
		return true, true // the search loop checks for a stop
	}
	if st == Draining && p.sleep.Parked() == p.life.Live() && p.finishDrain() {
		p.unregister(w)
		return false, false
	}
	p.sleep.Wait(w.id)
	p.spinning.Add(1)
	return true, false
}

// unregister withdraws a Register, consuming a wake-up already sent.
func (p *Stealing[T]) unregister(w *StealWorker[T]) {
	if !p.sleep.Cancel(w.id) {
		p.sleep.Wait(w.id)
	}
}

// finishDrain ends Shutdown's drain if the pool is quiet: every worker
// parked, nothing queued. No task runs then, so none can fork; the
// injector is closed. The deques' gates are held while it checks, so no
// goroutine of a task pushes meanwhile (such a Fork runs its task
// itself), nor does a worker woken by one move a batch; once it is sure,
// it closes the gates (later Forks fail with ErrClosed) and wakes every
// worker to exit. It reports whether the drain is over.
func (p *Stealing[T]) finishDrain() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drained.Load() {
		return true
	}
	held := make([]bool, len(p.workers))
	for i, v := range p.workers {
		held[i] = v.dq.hold()
	}
	// Retries still to come keep the drain open (Shutdown runs them):
	// the timer wakes a worker when one is due, and the last worker to
	// park after it ends the drain.
	quiet := p.sleep.Parked() == p.life.Live() && !p.workVisible() && !p.retrying()
	for i, v := range p.workers {
		switch {
		case !held[i]: // closed already
		case quiet:
			v.dq.close()
		default:
			v.dq.release()
		}
	}
	if quiet {
		p.drained.Store(true)
		p.sleep.WakeAll()
	}
	return quiet
}

// workerExit runs when a worker goroutine ends: normally (the pool is
// stopping), or because its task panicked or called runtime.Goexit, in
// which case the panic is counted and reported and a new goroutine takes
// the worker's place and its deque.
func (p *Stealing[T]) workerExit(w *StealWorker[T]) {
	p.life.ExitWorker(w.env)
	if w.exiting {
		w.meter.Stop(p.meter.Now())
		p.life.WorkerExited()
		if w.env != nil && w.env.gaveUp {
			// A worker that gave up opening its resource leaves a drain
			// whose parked workers wait for every live one to park: they
			// look again, counting one fewer.
			p.sleep.WakeAll()
		}
		return
	}
	v := recover()
	if w.hooking {
		// OnError called runtime.Goexit: CallHook counted it, and the
		// task was counted already. Only the goroutine needs replacing.
		w.hooking = false
		go p.work(w)
		return
	}
	w.meter.Panicked.Add(1)
	if g := p.hooks.brk; g != nil {
		g.recordPanic(&w.tk)
	}
	if p.rt != nil {
		p.ended(w) // a panic is never retried
	}
	defer func() { go p.work(w) }() // even if OnPanic calls runtime.Goexit
	x := w.curX
	if x == nil {
		p.hooks.panicked(w.cur, v)
		return
	}
	w.curX = nil
	t := w.cur
	reported, stack := v, []byte(nil)
	defer func() { x.finishPanic(t, reported, stack) }() // even if OnPanic calls runtime.Goexit
	reported, stack = p.hooks.panicked(t, v)
}

// Shutdown stops intake and waits until every accepted task, and every
// subtask forked meanwhile, has run and the workers have exited. Submit
// and TrySubmit return poolrt.ErrClosed from the moment Shutdown is
// called; Fork from a running task still queues its subtask. If ctx is
// done first, Shutdown returns ctx's error while the pool goes on
// draining; ShutdownNow then stops it.
func (p *Stealing[T]) Shutdown(ctx context.Context) error {
	p.stop(Draining)
	return p.life.Wait(ctx)
}

// ShutdownNow stops intake, cancels the context passed to running tasks,
// waits for the workers to finish their current task and exit, and
// returns every accepted task that never started: the deques' (oldest
// first) and then the injector's. Fork returns poolrt.ErrClosed from the
// moment ShutdownNow is called. Only the first call returns tasks.
func (p *Stealing[T]) ShutdownNow() []T {
	p.stop(Stopped)
	<-p.life.Exited()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.returned {
		return nil
	}
	p.returned = true
	var out []T
	for _, w := range p.workers {
		// A goroutine a task started may still fork with its context:
		// wait for it to finish its push, and turn the next ones away.
		w.dq.hold()
		w.dq.close()
		for {
			var t T
			var x *Waiter
			meta, _, ok := w.dq.popTail(&t, &x)
			if !ok {
				break
			}
			if x != nil {
				x.finishReturned()
			}
			if shard := meta & metaShard; shard != 0 {
				p.q.release(int(shard-1), 1) // handed back: it never starts
			} else {
				w.steal.ForkReturned.Add(1)
			}
			out = append(out, t)
		}
	}
	out = p.q.drain(out)
	if p.rt != nil {
		out = p.rt.drain(out)
	}
	p.meter.Returned(len(out))
	return out
}

// stop closes intake, moves to state to and wakes every parked worker.
func (p *Stealing[T]) stop(to State) {
	p.life.Stop(to, p.q.close)
	p.sleep.WakeAll()
}

// Stats returns a snapshot of the pool's metrics, with the work-stealing
// counters in Stats.Stealing. QueueDepth counts accepted tasks not yet
// started wherever they wait (injector and deques); QueueCap is the
// injector's capacity (QueueSize); Submitted includes forked subtasks.
func (p *Stealing[T]) Stats() poolrt.Stats {
	forks := p.queuedForks()
	st := p.meter.Snapshot(p.life.Live(), p.q.len()+forks, p.q.capacity)
	st.Stealing = p.steals.Snapshot(p.meter, forks)
	p.life.WorkerStats(&st)
	st.Submitted += st.Stealing.Forked + st.Stealing.ForkedInline
	return st
}

// queuedForks returns the number of forked subtasks in the deques: what
// the deques hold, less the injector's tasks workers moved there. Such a
// task was taken before it went onto a deque and starts after it leaves,
// so reading the injector's started counts before the deques and its
// taken counts after them bounds those tasks from above: the figure may
// be low for an instant, never high.
func (p *Stealing[T]) queuedForks() int {
	var started, taken uint64
	for i := range p.q.shards {
		started += p.q.shards[i].started.Load()
	}
	n := 0
	for _, w := range p.workers {
		n += w.dq.size()
	}
	for i := range p.q.shards {
		taken += p.q.shards[i].taken.Load()
	}
	return max(n-int(taken-started), 0)
}

// takeRetry takes a due retry (or a held task) from the delay queue into
// w.cur, reporting whether there was one.
func (p *Stealing[T]) takeRetry(w *StealWorker[T]) bool {
	var s slot[T]
	n := p.rt.take(&s)
	if n == 0 {
		return false
	}
	w.cur, w.curX, w.attempt, w.token = s.task, s.x, n, true
	return true
}

// keep makes sure w.cur holds a token, to wait in the delay queue: a
// subtask forked onto a deque takes one now. It reports false when
// QueueSize tasks are in flight.
func (p *Stealing[T]) keep(w *StealWorker[T]) bool {
	if !w.token {
		w.token = p.rt.acquire()
	}
	return w.token
}

// ended gives back w.cur's token, if it holds one: it reached its final
// outcome.
func (p *Stealing[T]) ended(w *StealWorker[T]) {
	if w.token {
		w.token = false
		p.rt.release()
		p.life.Room()
	}
}

// refuse ends w.cur, which its circuit breaker did not let start: it is
// held in the delay queue (poolrt.BreakerPolicy.Hold, while the pool is
// open, the breaker holds fewer than MaxHeld and a token is free), or
// dead-lettered. Either way its start ends in the worker's Other count,
// as every start ends in one of its counts (see StealMeters.Snapshot).
func (p *Stealing[T]) refuse(w *StealWorker[T], g *gate[T]) {
	w.meter.Other.Add(1)
	x := w.curX
	w.curX = nil
	attempts := 0
	if rt := p.rt; rt != nil {
		attempt := max(w.attempt, 1)
		if g.g.Hold && p.life.State() == Open && p.keep(w) && rt.hold(w.cur, x, attempt, w.tk.Breaker()) {
			w.token = false // it travels with the task
			return
		}
		p.ended(w)
		attempts = attempt - 1
	}
	w.hooking = true // see workerExit
	g.reject(&w.cur, x, attempts, p.meter, &p.hooks)
	w.hooking = false
}

// endRetried ends w.cur, which returned err, in a pool with retries or
// dead letters: it goes to the delay queue for another attempt (a
// subtask forked onto a deque takes a token for that, and fails for good
// without one), or it reached its final outcome (settle).
func (w *StealWorker[T]) endRetried(rt *retries[T], err error) {
	p := w.pool
	attempt := max(w.attempt, 1)
	x := w.curX
	w.curX = nil
	if err != nil && rt.retryable(err, attempt) && p.keep(w) {
		if rt.schedule(w.cur, x, attempt+1) {
			w.token = false // it travels with the task
			w.meter.Other.Add(1)
			p.meter.retries.Add(1)
			return
		}
	}
	settle(rt, p.meter, w.meter, &p.hooks, &w.cur, &w.cur, x, attempt, err, &w.hooking, func() { p.ended(w) })
}
