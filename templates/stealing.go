package templates

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// StealingPool runs tasks of type T on a fixed number of workers, each
// with its own deque of tasks; idle workers steal from busy ones. It is
// made for tasks that split their work into subtasks (fork-join,
// divide and conquer, graph traversals) and for uneven workloads, where a
// few tasks fork many and the rest are tiny.
//
// Submit and TrySubmit feed a shared, bounded queue (the injector), which
// workers take from oldest first, in batches as long as the tasks are
// short (poolrt.BatchBudget, measured on sampled tasks): with one worker,
// submitted tasks start in submission order. A running task forks
// subtasks with Fork, passing the ctx its Run was given: the subtask goes
// onto the deque of the worker running the task, without a lock or an
// allocation, and that worker runs it next (newest first: the subtask's
// data is still in cache) unless an idle worker steals it first. Thieves
// take the oldest half of a victim's deque, which in a divide-and-conquer
// tree are the biggest pieces of work. A worker looks in its own deque,
// then the injector, then the other deques from a random one on, spins
// briefly, then parks. A submitted task wakes a parked worker, if any; a
// fork wakes one only when no worker is already looking for work. Tasks
// are held by value in preallocated slots: Submit → run and Fork → run
// allocate nothing.
//
// # Fork-join
//
// A task forks subtasks and lets the last one to finish carry on, rather
// than wait for them:
//
//	type Sum struct {
//		Lo, Hi int
//		Out    *Node // where this range's sum goes
//	}
//
//	// Node joins the two halves of a range: the half that finishes
//	// second adds the total to the parent's node.
//	type Node struct {
//		Pending atomic.Int32 // halves not yet finished; starts at 2
//		Sum     atomic.Int64
//		Parent  *Node
//	}
//
//	func (s Sum) Run(ctx context.Context) error {
//		if s.Hi-s.Lo <= cutoff {
//			s.Out.Add(sumOf(s.Lo, s.Hi))
//			return nil
//		}
//		n := &Node{Parent: s.Out}
//		n.Pending.Store(2)
//		mid := (s.Lo + s.Hi) / 2
//		if err := pool.Fork(ctx, Sum{s.Lo, mid, n}); err != nil {
//			return err // poolrt.ErrClosed: ShutdownNow was called
//		}
//		return pool.Fork(ctx, Sum{mid, s.Hi, n})
//	}
//
// where Node.Add adds v to Sum and, when that brings Pending to zero,
// adds the node's Sum to its Parent (the root's completion signals the
// caller); ExampleStealingPool spells it out. This is a continuation
// counter: no worker ever waits, so the pool runs any tree with any
// number of workers. A task must not wait
// inside Run for the subtasks it forked (a sync.WaitGroup, a channel):
// while it waits its worker runs nothing, and once every worker waits
// for subtasks queued behind it the pool deadlocks; the fewer the
// workers, the sooner. Submit from inside a task has the same problem
// when the queue is full, and Fork never blocks.
//
// Fork with a context that does not come from one of this pool's workers
// is Submit. When the worker's deque is full, or another goroutine is
// forking onto it at that instant (a goroutine the task started, with the
// task's ctx), the subtask goes to the injector, where every worker takes
// from; when that is full too, or closed by Shutdown, Fork runs the
// subtask at once on the calling goroutine, before it returns (counted in
// Stats.Stealing.ForkedInline). So forking never blocks, and nothing
// forked during Shutdown is lost. Deques hold one pending subtask per
// level of a divide-and-conquer tree; a task that forks thousands of
// subtasks in a flat loop is better written as such a tree (split the
// range in halves), which keeps every worker busy at a fraction of the
// cost.
//
// # Capacity
//
// poolrt.QueueSize bounds the injector: every task accepted by Submit,
// TrySubmit or a Fork that went to the injector and not yet started,
// including those a worker has moved from the injector into its deque.
// Subtasks forked onto a deque do not count against it: each worker's
// deque holds up to poolrt.DequeSize tasks (default 256) of its own, so
// the pool holds at most QueueSize + Workers × DequeSize accepted tasks
// not yet started. Memory: QueueSize × (size of T + 8) bytes for the
// injector and Workers × DequeSize × (size of T + 16) bytes for the
// deques, allocated by NewStealingPool.
//
// # Shutdown
//
// Shutdown stops Submit and waits until no task is queued and no task
// runs: subtasks forked while it drains still run. ShutdownNow cancels
// the context of running tasks, makes Fork return poolrt.ErrClosed and
// returns every accepted task that never started, from the deques and the
// injector.
//
// Every accepted task runs exactly once, or is returned by ShutdownNow. A
// task that panics is recovered, counted and reported (see
// poolrt.OnPanic); its worker is replaced by a new goroutine that takes
// over its deque, and the pool keeps serving.
//
// A StealingPool is safe for concurrent use. Create one with
// NewStealingPool. Its Shutdown and ShutdownNow must not be called from
// inside a task's Run: they would wait for the calling task itself.
type StealingPool[T Task] struct {
	feed[T] // its queue is the injector
	steals  *poolrt.StealMeters
	workers []*stealWorker[T] // by slot, all made before any starts

	// The fields above are read on every Submit and Fork; spinning
	// changes whenever a worker runs out of work: a line of its own.
	_ [poolrt.CacheLinePad]byte
	// spinning counts workers looking for work: neither running a task
	// nor parked. Producers skip waking a parked worker while one looks:
	// it will find the work, or see it when it registers to park.
	spinning atomic.Int32
	// drained is set once Shutdown's drain is over: every worker was
	// parked with nothing queued, and the deques are closed.
	drained atomic.Bool
	_       [poolrt.CacheLinePad]byte

	mu       sync.Mutex // serialises the end of a drain and ShutdownNow's hand-back
	returned bool       // ShutdownNow has handed the unstarted tasks back

	// runs sizes the batches workers take from the injector
	// (poolrt.BatchBudget).
	runs poolrt.RunMean
}

// stealWorker is one worker slot's state. It lives in the pool, not on
// the worker goroutine's stack, so that a replacement goroutine (after a
// panic) takes over its deque and ShutdownNow can collect what is queued.
type stealWorker[T Task] struct {
	dq   deque[T]
	pool *StealingPool[T]
	// ctx is passed to every Run of this worker: the pool's context,
	// plus the worker for Fork. ctxi is the same pointer as an interface,
	// converted once.
	ctx     stealCtx[T]
	ctxi    context.Context
	id      int
	home    int // injector shard the worker takes from first
	cur     T   // the task running now, for panic reports
	fair    int // forked tasks to run before the next look at the injector
	exiting bool
	meter   *poolrt.WorkerMeter
	steal   *poolrt.StealMeter
	buf     [maxBatch]slot[T] // an injector batch on its way into dq
	slice   poolrt.Slice
	_       [poolrt.CacheLinePad]byte
}

// stealKey is the context key under which a worker's context carries its
// worker.
type stealKey struct{}

// stealCtx is a worker's context: the pool's context, and the worker for
// Fork to find. Made once per worker, so passing it allocates nothing.
type stealCtx[T Task] struct {
	context.Context
	w *stealWorker[T]
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

// NewStealingPool starts a pool configured by opts: poolrt.Workers
// (default GOMAXPROCS), poolrt.QueueSize (the injector), poolrt.DequeSize
// (each worker's deque), poolrt.OnFull, poolrt.OnPanic, poolrt.OnError,
// poolrt.Metrics and poolrt.LatencySampling. A bad option is reported as
// a *poolrt.ConfigError and no goroutine is started.
func NewStealingPool[T Task](opts ...poolrt.Option) (*StealingPool[T], error) {
	set, err := poolrt.Resolve(poolrt.Stealing, opts)
	if err != nil {
		return nil, err
	}
	p := new(StealingPool[T])
	n := set.Workers
	p.initFeed(set, n, n)
	p.steals = poolrt.NewStealMeters(n)
	p.workers = make([]*stealWorker[T], n)
	for id := range n {
		w := &stealWorker[T]{
			pool:  p,
			id:    id,
			home:  id % set.Shards,
			fair:  fairnessPeriod,
			meter: p.meter.Worker(id),
			steal: &p.steals.Workers[id],
		}
		w.dq.init(set.Stealing.DequeSize)
		w.ctx = stealCtx[T]{Context: p.life.Context(), w: w}
		w.ctxi = &w.ctx
		p.workers[id] = w
	}
	for _, w := range p.workers {
		w.meter.Start(p.meter.Now())
		p.life.WorkerStarted()
		go p.work(w)
	}
	return p, nil
}

// Submit queues t on the injector, waiting while it is full (under the
// default poolrt.Block policy) until there is room, ctx is done (ctx's
// error is returned) or the pool shuts down (poolrt.ErrClosed). Under
// poolrt.Reject it returns poolrt.ErrQueueFull instead of waiting; under
// poolrt.CallerRuns it runs t on the calling goroutine. ctx only bounds
// the wait: the task runs with its worker's context. Tasks use Fork, not
// Submit, for their subtasks.
func (p *StealingPool[T]) Submit(ctx context.Context, t T) error { return p.submit(ctx, t) }

// TrySubmit queues t on the injector if there is room and never blocks:
// it returns poolrt.ErrQueueFull when the injector is full and
// poolrt.ErrClosed after shutdown, whatever the backpressure policy.
func (p *StealingPool[T]) TrySubmit(t T) error { return p.trySubmit(t) }

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
func (p *StealingPool[T]) Fork(ctx context.Context, t T) error {
	w := p.workerOf(ctx)
	if w == nil {
		return p.Submit(ctx, t)
	}
	if p.nilable && poolrt.IsNil(&t) {
		return poolrt.ErrNilTask
	}
	return p.fork(w, &t)
}

// workerOf returns the worker of this pool that ctx comes from, or nil.
func (p *StealingPool[T]) workerOf(ctx context.Context) *stealWorker[T] {
	if c, ok := ctx.(*stealCtx[T]); ok { // the context Run was given: no interface call
		if c.w.pool == p {
			return c.w
		}
		return nil
	}
	if ctx == nil {
		return nil
	}
	if w, ok := ctx.Value(stealKey{}).(*stealWorker[T]); ok && w.pool == p {
		return w
	}
	return nil
}

func (p *StealingPool[T]) fork(w *stealWorker[T], t *T) error {
	if p.life.State() == poolrt.Stopped {
		return poolrt.ErrClosed
	}
	if w.dq.acquire() {
		var enq int64
		if every := p.meter.SampleEvery; every > 0 {
			if w.dq.tick--; w.dq.tick <= 0 {
				w.dq.tick = every
				enq = p.meter.Now()
			}
		}
		ok := w.dq.push(t, 0, enq)
		w.dq.release()
		if ok {
			p.wake()
			return nil
		}
	} else if w.dq.gate.Load() == gateClosed {
		return poolrt.ErrClosed
	}
	// The deque is full (a flat loop of forks, say), or another goroutine
	// is pushing onto it (a goroutine of the task, forking with its
	// context): the injector, where every worker takes from, keeps the
	// subtasks spread; if it is full or closed, run t now.
	switch p.q.push(*t) {
	case pushed:
		p.steals.ForkToInjector()
		p.wake()
		return nil
	case pushClosed:
		if p.life.State() == poolrt.Stopped {
			return poolrt.ErrClosed
		}
	}
	p.steals.ForkInline()
	runOnCaller(w.ctxi, t, &p.set, p.meter)
	return nil
}

// wake wakes a parked worker after a task made work visible (a fork, or
// the rest of an injector batch on its worker's deque), unless none is
// parked (one atomic load) or one is already looking for work. No wake-up
// is lost: a worker registers as parked, stops counting as spinning, and
// then looks at every queue once more, so either it sees the work or the
// producer, which made the work visible before these loads, sees it
// parked and not spinning.
func (p *StealingPool[T]) wake() {
	if p.sleep.Parked() > 0 && p.spinning.Load() == 0 {
		p.sleep.Wake()
	}
}

// work is a worker's loop: run the newest task of its own deque, or find
// one elsewhere, until the pool stops.
func (p *StealingPool[T]) work(w *stealWorker[T]) {
	defer p.workerExit(w)
	for {
		if p.life.State() == poolrt.Stopped {
			w.exiting = true
			return
		}
		var meta uint32
		var enq int64
		ok := false
		if w.fair <= 0 {
			w.fair = fairnessPeriod
			meta, enq, ok = p.pollInjector(w)
		}
		if !ok {
			if meta, enq, ok = w.dq.pop(&w.cur); ok && meta&metaShard == 0 {
				w.fair--
			}
		}
		if !ok {
			if meta, enq, ok = p.find(w); !ok {
				w.exiting = true
				return
			}
		}
		p.run(w, meta, enq)
	}
}

// run runs w.cur, which came with meta and enq.
func (p *StealingPool[T]) run(w *stealWorker[T], meta uint32, enq int64) {
	w.slice.Next(&p.meter.Clock, p.sleep)
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
	if enq != 0 {
		p.runTimed(w, enq)
		return
	}
	err := w.cur.Run(w.ctxi)
	w.meter.Done(err)
	if err != nil {
		p.set.TaskFailed(err)
	}
}

// runTimed runs a sampled task and records its queue wait and run time.
func (p *StealingPool[T]) runTimed(w *stealWorker[T], enq int64) {
	m := &p.meter.Shards[w.home]
	start := p.meter.Now()
	m.Wait.Record(time.Duration(start - enq))
	err := w.cur.Run(w.ctxi)
	d := p.meter.Since(start)
	m.Run.Record(d)
	p.runs.Record(d)
	w.meter.BusyNanos.Add(uint64(d) * uint64(p.meter.SampleEvery))
	w.meter.Done(err)
	if err != nil {
		p.set.TaskFailed(err)
	}
}

// find looks for a task once the worker's deque is empty: spinning over
// the queues for a while, then parking until there may be work. It leaves
// the task in w.cur, or reports false when the worker should exit.
func (p *StealingPool[T]) find(w *stealWorker[T]) (meta uint32, enq int64, ok bool) {
	var zero T
	w.cur = zero // drop the finished task for the garbage collector
	w.meter.SetBusy(false)
	p.spinning.Add(1)
	for {
		for i := 0; ; i++ { // each a round over every queue
			if p.life.State() == poolrt.Stopped || p.drained.Load() {
				p.spinning.Add(-1)
				return 0, 0, false
			}
			if meta, enq, ok = p.look(w); ok {
				p.found(w)
				return meta, enq, true
			}
			if i >= poolrt.IdleLooks {
				break
			}
			runtime.Gosched()
			// The slice restarts only once the worker has waited. One
			// that empties its deque and finds work at its first look
			// has kept its P all along: a stream of submitted tasks,
			// taken in short batches, would otherwise never end its
			// slice (at 81k tasks/s of 20 µs on 2 vCPUs the load
			// generator fell behind: P50 12–238 µs instead of 1–17).
			w.slice.Reset()
		}
		if !p.park(w) {
			return 0, 0, false
		}
		w.slice.Reset()
	}
}

// look makes one round over the queues: the worker's own deque (a
// goroutine of a task may have forked onto it), the injector, and the
// other workers' deques from a random one on.
func (p *StealingPool[T]) look(w *stealWorker[T]) (meta uint32, enq int64, ok bool) {
	if meta, enq, ok = w.dq.pop(&w.cur); ok {
		return meta, enq, true
	}
	// Moving tasks into the deque needs its gate. If a goroutine of a
	// task holds it (it is pushing a task we pop next round, unless it
	// was descheduled mid-push), take one task at a time meanwhile.
	held := w.dq.acquire()
	if !p.q.empty() {
		meta, enq, ok = p.takeInjector(w, held)
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
func (p *StealingPool[T]) takeInjector(w *stealWorker[T], held bool) (meta uint32, enq int64, ok bool) {
	room := 0
	if held {
		room = w.dq.room(p.set.TakeLimit(&p.runs, false, len(w.buf)) - 1)
	}
	n, from := p.q.take(w.home, w.buf[:room+1])
	if n == 0 {
		return 0, 0, false
	}
	meta = uint32(from + 1)
	// The deque pops newest first: put the batch in backwards.
	for i := 1; i < n; i++ {
		w.dq.put(n-1-i, &w.buf[i].task, meta, w.buf[i].enq)
	}
	if n > 1 {
		w.dq.publish(n - 1)
	}
	w.cur, enq = w.buf[0].task, w.buf[0].enq
	clear(w.buf[:n])
	return meta, enq, true
}

// pollInjector takes a batch from the injector, if it holds one, and
// returns the oldest task of the batch to run now; the rest go onto the
// deque, above the forked subtasks, and run next. Workers busy with forks
// call it every fairnessPeriod subtasks, so that forks cannot starve
// submitted tasks: the deque pops newest first, so a batch merely queued
// under the forks would wait for all of them.
func (p *StealingPool[T]) pollInjector(w *stealWorker[T]) (meta uint32, enq int64, ok bool) {
	if p.q.empty() {
		return 0, 0, false
	}
	held := w.dq.acquire()
	meta, enq, ok = p.takeInjector(w, held)
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
func (p *StealingPool[T]) stealOne(w *stealWorker[T], room int) (meta uint32, enq int64, ok bool) {
	n := len(p.workers)
	if n == 1 {
		return 0, 0, false
	}
	v := poolrt.RandN(n)
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
		if k, meta, enq := victim.dq.steal(&w.dq, room+1, &w.cur); k > 0 {
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
func (p *StealingPool[T]) found(w *stealWorker[T]) {
	w.meter.SetBusy(true)
	if p.spinning.Add(-1) == 0 && p.sleep.Parked() > 0 && p.workVisible() {
		p.sleep.Wake()
	}
}

// workVisible reports whether any queue holds a task.
func (p *StealingPool[T]) workVisible() bool {
	if !p.q.empty() {
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
// the worker should exit; otherwise the worker counts as spinning again.
func (p *StealingPool[T]) park(w *stealWorker[T]) bool {
	p.sleep.Register(w.id)
	p.spinning.Add(-1)
	// Look again after registering and no longer counting as spinning: a
	// producer that made work visible before it saw us parked did not
	// wake anyone (see wake), and neither did a Stop that came first.
	st := p.life.State()
	if st == poolrt.Stopped || p.drained.Load() || p.workVisible() {
		p.unregister(w)
		p.spinning.Add(1)
		return true // the search loop checks for a stop
	}
	if st == poolrt.Draining && p.sleep.Parked() == p.life.Live() && p.finishDrain() {
		p.unregister(w)
		return false
	}
	p.sleep.Wait(w.id)
	p.spinning.Add(1)
	return true
}

// unregister withdraws a Register, consuming a wake-up already sent.
func (p *StealingPool[T]) unregister(w *stealWorker[T]) {
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
func (p *StealingPool[T]) finishDrain() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drained.Load() {
		return true
	}
	held := make([]bool, len(p.workers))
	for i, v := range p.workers {
		held[i] = v.dq.hold()
	}
	quiet := p.sleep.Parked() == p.life.Live() && !p.workVisible()
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
func (p *StealingPool[T]) workerExit(w *stealWorker[T]) {
	if w.exiting {
		w.meter.Stop(p.meter.Now())
		p.life.WorkerExited()
		return
	}
	v := recover()
	w.meter.Panicked.Add(1)
	p.set.TaskPanicked(w.cur, v)
	go p.work(w)
}

// Shutdown stops intake and waits until every accepted task, and every
// subtask forked meanwhile, has run and the workers have exited. Submit
// and TrySubmit return poolrt.ErrClosed from the moment Shutdown is
// called; Fork from a running task still queues its subtask. If ctx is
// done first, Shutdown returns ctx's error while the pool goes on
// draining; ShutdownNow then stops it.
func (p *StealingPool[T]) Shutdown(ctx context.Context) error {
	p.stop(poolrt.Draining)
	return p.life.Wait(ctx)
}

// ShutdownNow stops intake, cancels the context passed to running tasks,
// waits for the workers to finish their current task and exit, and
// returns every accepted task that never started: the deques' (oldest
// first) and then the injector's. Fork returns poolrt.ErrClosed from the
// moment ShutdownNow is called. Only the first call returns tasks.
func (p *StealingPool[T]) ShutdownNow() []T {
	p.stop(poolrt.Stopped)
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
			meta, _, ok := w.dq.popTail(&t)
			if !ok {
				break
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
	p.meter.Returned(len(out))
	return out
}

// stop closes intake, moves to state to and wakes every parked worker.
func (p *StealingPool[T]) stop(to poolrt.State) {
	p.life.Stop(to, p.q.close)
	p.sleep.WakeAll()
}

// Stats returns a snapshot of the pool's metrics, with the work-stealing
// counters in Stats.Stealing. QueueDepth counts accepted tasks not yet
// started wherever they wait (injector and deques); QueueCap is the
// injector's capacity (QueueSize); Submitted includes forked subtasks.
func (p *StealingPool[T]) Stats() poolrt.Stats {
	forks := p.queuedForks()
	st := p.meter.Snapshot(p.life.Live(), p.q.len()+forks, p.q.capacity)
	st.Stealing = p.steals.Snapshot(p.meter, forks)
	st.Submitted += st.Stealing.Forked + st.Stealing.ForkedInline
	return st
}

// queuedForks returns the number of forked subtasks in the deques: what
// the deques hold, less the injector's tasks workers moved there (the
// injector's held count; a batch on its way into a deque may make the
// figure low for an instant).
func (p *StealingPool[T]) queuedForks() int {
	n := 0
	for _, w := range p.workers {
		n += w.dq.size()
	}
	for i := range p.q.shards {
		n -= p.q.shards[i].held()
	}
	return max(n, 0)
}
