package poolimpl

import (
	"context"
	"errors"
	"reflect"
	"runtime/debug"
	"runtime/trace"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/breaker"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// Batch is the batch pool's implementation (templates.BatchPool documents
// it): tasks gathered by key into batches in an arena allocated with the
// pool, handed to the handler on size, linger time or shutdown.
type Batch[T any, K comparable] struct {
	handle func(ctx context.Context, batch []T) error
	life   Lifecycle
	sleep  *Sleepers
	meter  *Meter
	bm     BatchMeter
	set    config.Settings
	hooks  taskHooks[T]
	// nilable: T is a pointer type, and a nil task is refused.
	nilable bool
	timer   *time.Timer   // the linger flusher's
	kick    chan struct{} // wakes the linger flusher: a batch opened (capacity 1)
	// flushing: the linger flusher runs (it counts as live for Shutdown).
	flushing atomic.Bool

	mu     sync.Mutex
	closed bool
	// The arena: a batch is a chain of slots; slots and batch headers
	// each number QueueSize (a batch holds at least one task), and unused
	// ones are chained in free lists.
	slots     []batchSlot[T]
	batches   []batchHdr[K]
	freeSlot  int32
	freeBatch int32
	open      map[K]int32 // open batch by key
	last      int32       // the open batch last added to, or -1
	lastKey   K
	lingerQ   batchList // open batches, oldest first
	ready     batchList // flushed batches waiting for a worker, oldest first
	queued    int       // accepted tasks not yet handed to the handler
	nopen     int
	nready    int
	submitted uint64
	returned  bool
	workers   []batchWorker[T, K]
	// shed is the load shedding controller, nil when off; its depth is
	// the batches flushed and waiting for a worker.
	shed *Shedder
	// rt is the retry policy and dead letters (retry.go), nil when off.
	// Its delay queue holds each task with its key, to join a batch of
	// that key again when its time comes; rset is the settings it
	// reports with, whose dead-letter handler takes such pairs.
	rt   *retries[keyedTask[T, K]]
	rset config.Settings
}

// keyedTask is a batch pool's task with its key, as it waits in the
// delay queue.
type keyedTask[T any, K comparable] struct {
	task T
	key  K
}

// batchSlot holds one waiting task and links it to the next of its batch.
type batchSlot[T any] struct {
	task T
	next int32 // -1 ends the chain
	// attempt is the task's attempt number when it is a retry (retries),
	// else 0.
	attempt int32
	x       *Waiter // the completion handle of a task submitted with SubmitWait
}

// batchHdr is one batch: its key and its chain of slots.
type batchHdr[K comparable] struct {
	key         K
	first, last int32 // slot chain
	n           int
	opened      int64 // clock stamp of its first task
	flushed     int64 // clock stamp of its flush, when shedding is on
	reason      FlushReason
	prev, next  int32 // in lingerQ or ready; next also chains free headers
}

// batchList is a FIFO of batch headers, linked through prev and next.
type batchList struct{ head, tail int32 }

// batchWorker is one worker's state: the buffer it hands to the handler,
// kept in the pool so that a replacement goroutine can take over if the
// handler calls runtime.Goexit.
type batchWorker[T any, K comparable] struct {
	id    int
	meter *WorkerMeter
	buf   []T // the batch being handled
	// xs are the completion handles of the batch's tasks that have one
	// (SubmitWait): all get the batch's outcome. Usually empty.
	xs []*Waiter
	// With a circuit breaker (breaker.go), xs has an entry, maybe nil,
	// for every task of buf; tks are their tickets; refused holds the
	// tasks turned away, and waited whether their submitters waited.
	tks     []breaker.Ticket
	refused []T
	waited  []bool
	// With retries (Batch.rt), xs and attempts have an entry for every
	// task of buf, and key is the batch's; actx is the handler's context
	// then, which answers the batch's attempt (poolrt.Attempt); tried
	// holds the refused tasks' runs before, and failed the tasks of a
	// failed batch that failed for good, to report.
	attempts []int32
	key      K
	actx     *attemptCtx
	tried    []int32
	failed   []T
	opened   int64 // its first task's arrival
	flushed  int64 // its flush (when shedding is on)
	exiting  bool
	hooking  bool // in OnError, whose runtime.Goexit must not count the batch again
	slice    Slice
	// ctx is the handler's context: the pool's, or one that answers the
	// worker's resource.
	ctx context.Context
	env *Env // pins the worker and holds its resource; nil without either
}

// Init starts the pool configured by opts, handing batches to handle, or
// returns a *poolrt.ConfigError and starts nothing.
func (p *Batch[T, K]) Init(opts []poolrt.Option, handle func(ctx context.Context, batch []T) error) error {
	set, err := config.Resolve(config.Batch, opts)
	if err != nil {
		return err
	}
	q := set.QueueSize
	*p = Batch[T, K]{
		handle:  handle,
		set:     set,
		meter:   NewMeter(&set, set.Workers, 1),
		sleep:   NewSleepers(set.Workers),
		kick:    make(chan struct{}, 1),
		timer:   time.NewTimer(time.Hour),
		slots:   make([]batchSlot[T], q),
		batches: make([]batchHdr[K], q),
		open:    make(map[K]int32),
		last:    -1,
		lingerQ: batchList{-1, -1},
		ready:   batchList{-1, -1},
		workers: make([]batchWorker[T, K], set.Workers),
		nilable: Nilable[T](),
	}
	p.timer.Stop()
	p.shed = p.meter.shedder(&p.set, &p.life, q, func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.nready
	})
	if p.hooks, err = resolveHooks[T](&p.set); err != nil {
		return err
	}
	if err = p.initRetries(); err != nil {
		return err
	}
	for i := range q {
		p.slots[i].next = int32(i + 1)
		p.batches[i].next = int32(i + 1)
	}
	p.slots[q-1].next, p.batches[q-1].next = -1, -1
	p.life.Init(set.Workers + 1) // the workers and the linger flusher
	if err := p.life.Reserve(&p.set, config.Batch, taskName[T]()); err != nil {
		return err
	}
	for i := range p.workers {
		w := &p.workers[i]
		w.id, w.meter = i, p.meter.Worker(i)
		w.buf = make([]T, 0, set.Batch.MaxBatch)
		w.env, w.ctx = p.life.NewEnv(i, p.life.Context())
		if p.rt != nil {
			w.actx = &attemptCtx{Context: w.ctx}
			w.ctx = w.actx
		}
		w.meter.Start(p.meter.Now())
		go p.work(w)
	}
	p.flushing.Store(true)
	go p.flusher()
	p.life.List(p.meter, p.Stats, nil)
	return nil
}

// addResult is what adding a task to a batch pool came to.
type addResult uint8

const (
	added addResult = iota
	addFull
	addClosed
)

// Refuses reports whether t is a task the pool refuses: a nil pointer.
// The pool checks before it reads the task's key.
func (p *Batch[T, K]) Refuses(t *T) bool { return p.nilable && IsNil(t) }

// Submit adds t, of key key, to the open batch of its key (opening one if there is
// none), waiting while the pool holds QueueSize tasks not yet handed over
// (under the default poolrt.Block policy) until there is room, ctx is done
// or the pool shuts down (poolrt.ErrClosed). Under poolrt.Reject it returns
// poolrt.ErrQueueFull instead; under poolrt.CallerRuns it hands a batch of
// t alone to the handler on the calling goroutine.
func (p *Batch[T, K]) Submit(ctx context.Context, t T, key K) error {
	return p.submit(ctx, t, key, nil)
}

// SubmitWait is the pool's SubmitWait for a task of key key: Submit, then
// a wait for the outcome of the batch that holds it.
func (p *Batch[T, K]) SubmitWait(ctx context.Context, t T, key K) error {
	x := p.life.Waiter()
	if err := p.submit(ctx, t, key, x); err != nil {
		x.cancel()
		if err == errRanHere {
			return p.runCaller(t, true)
		}
		return err
	}
	return x.wait(ctx)
}

// Closed is the pool's Closed.
func (p *Batch[T, K]) Closed() bool { return p.life.Closed() }

// errRanHere tells SubmitWait that the CallerRuns policy applies: it runs
// the task itself, to return its outcome.
var errRanHere = errors.New("poolgen: run on the caller")

// submit is Submit for a task with completion handle x (nil for none).
func (p *Batch[T, K]) submit(ctx context.Context, t T, key K, x *Waiter) error {
	if p.shed != nil && p.shed.Refuse(0) {
		return poolrt.ErrOverloaded
	}
	r := p.add(t, key, x)
	if r == added {
		return nil
	}
	if r == addClosed {
		return poolrt.ErrClosed
	}
	switch p.set.Backpressure {
	case poolrt.Reject:
		p.meter.Shards[0].Rejected.Add(1)
		return poolrt.ErrQueueFull
	case poolrt.CallerRuns:
		if x != nil {
			return errRanHere
		}
		_ = p.runCaller(t, false)
		return nil
	}
	p.life.BeginWait()
	defer p.life.EndWait()
	for {
		switch p.add(t, key, x) {
		case added:
			p.life.PassRoom()
			return nil
		case addClosed:
			return poolrt.ErrClosed
		}
		if err := p.life.WaitRoom(ctx); err != nil {
			return err
		}
	}
}

// TrySubmit adds t, of key key, if there is room and never blocks: it returns
// poolrt.ErrQueueFull when the pool is full and poolrt.ErrClosed after
// shutdown, whatever the backpressure policy.
func (p *Batch[T, K]) TrySubmit(t T, key K) error {
	if p.shed != nil && p.shed.Refuse(0) {
		return poolrt.ErrOverloaded
	}
	switch p.add(t, key, nil) {
	case added:
		return nil
	case addClosed:
		return poolrt.ErrClosed
	}
	p.meter.Shards[0].Rejected.Add(1)
	return poolrt.ErrQueueFull
}

// add puts t, with its completion handle x (or nil), into the open batch
// of key, flushing the batch if it is full.
func (p *Batch[T, K]) add(t T, key K, x *Waiter) addResult {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return addClosed
	}
	// With retries, QueueSize bounds the tasks in flight, so the arena,
	// which holds fewer, has room when there is a token.
	if p.rt != nil && !p.rt.acquire() || p.rt == nil && p.queued >= len(p.slots) {
		p.mu.Unlock()
		return addFull
	}
	p.submitted++ // under p.mu; Stats reads it there
	full, opened, kick := p.insertLocked(t, key, x, 0)
	p.mu.Unlock()
	p.wakeFor(full, opened, kick)
	return added
}

// insertLocked puts t, with its completion handle x (or nil), into the
// open batch of key, as attempt attempt (0: its first), flushing the
// batch if it is full. It reports whether it flushed the batch, opened
// it, and whether the flusher must time it (wakeFor). The arena has room.
func (p *Batch[T, K]) insertLocked(t T, key K, x *Waiter, attempt int32) (full, opened, kick bool) {
	// Tasks of one key often come in runs (and a pool without keys has
	// one): the last batch added to skips the map lookup.
	bi, ok := p.last, p.last >= 0 && p.lastKey == key
	if !ok {
		bi, ok = p.open[key]
	}
	opened = !ok
	if opened {
		bi = p.openBatch(key)
	}
	p.last, p.lastKey = bi, key
	b := &p.batches[bi]
	si := p.freeSlot // there is one: queued < len(slots)
	p.freeSlot = p.slots[si].next
	p.slots[si] = batchSlot[T]{task: t, next: -1, x: x, attempt: attempt}
	if b.last < 0 {
		b.first = si
	} else {
		p.slots[b.last].next = si
	}
	b.last = si
	b.n++
	p.queued++
	switch {
	case b.n >= p.set.Batch.MaxBatch:
		p.flushLocked(bi, FlushFull)
		full = true
	case p.closed:
		// A retry after Shutdown began: the flusher is gone, and the
		// pool hands over what it holds at once.
		p.flushLocked(bi, FlushShutdown)
		full = true
	}
	kick = opened && !full && p.lingerQ.head == bi
	return full, opened, kick
}

// wakeFor wakes whom a batch that insertLocked flushed (full) or opened
// needs: a worker, or the linger flusher (kick).
func (p *Batch[T, K]) wakeFor(full, opened, kick bool) {
	switch {
	case full:
		p.sleep.Wake()
	case opened && p.set.Batch.Linger == 0:
		p.sleep.Wake() // Linger(0): a free worker takes it now
	case kick:
		select { // the flusher must time this batch: it was waiting for none
		case p.kick <- struct{}{}:
		default:
		}
	}
}

// requeueLocked moves the due retries (and held tasks) from the delay
// queue into the open batches of their keys, as insertLocked does, and
// reports whether it flushed a batch (or opened one under Linger(0)),
// and whether the flusher must time one.
func (p *Batch[T, K]) requeueLocked() (full, kick bool) {
	for {
		var s slot[keyedTask[T, K]]
		n := p.rt.take(&s)
		if n == 0 {
			return full, kick
		}
		f, opened, k := p.insertLocked(s.task.task, s.task.key, s.x, int32(n))
		full = full || f || opened && p.set.Batch.Linger == 0
		kick = kick || k
	}
}

// openBatch opens a batch for key. A header is free: every batch in use
// holds a task, and fewer than QueueSize tasks wait.
func (p *Batch[T, K]) openBatch(key K) int32 {
	bi := p.freeBatch
	p.freeBatch = p.batches[bi].next
	p.batches[bi] = batchHdr[K]{key: key, first: -1, last: -1, opened: p.meter.Now()}
	p.open[key] = bi
	p.push(&p.lingerQ, bi)
	p.nopen++
	return bi
}

// flushLocked moves open batch bi to the ready list.
func (p *Batch[T, K]) flushLocked(bi int32, r FlushReason) {
	b := &p.batches[bi]
	delete(p.open, b.key)
	if p.last == bi {
		p.last = -1
	}
	p.remove(&p.lingerQ, bi)
	p.nopen--
	b.reason = r
	if p.shed != nil {
		// Shedding measures the wait for a worker, which a batch's
		// linger time is not.
		b.flushed = p.meter.Now()
	}
	p.push(&p.ready, bi)
	p.nready++
}

// push appends batch bi to list l.
func (p *Batch[T, K]) push(l *batchList, bi int32) {
	b := &p.batches[bi]
	b.prev, b.next = l.tail, -1
	if l.tail >= 0 {
		p.batches[l.tail].next = bi
	} else {
		l.head = bi
	}
	l.tail = bi
}

// remove unlinks batch bi from list l.
func (p *Batch[T, K]) remove(l *batchList, bi int32) {
	b := &p.batches[bi]
	if b.prev >= 0 {
		p.batches[b.prev].next = b.next
	} else {
		l.head = b.next
	}
	if b.next >= 0 {
		p.batches[b.next].prev = b.prev
	} else {
		l.tail = b.prev
	}
	b.prev, b.next = -1, -1
}

// release empties batch bi, appending its tasks to out and their
// completion handles to w.xs and attempts to w.attempts (or, with w nil,
// telling them that their tasks were handed back), and frees its slots
// and header.
func (p *Batch[T, K]) release(bi int32, out []T, w *batchWorker[T, K]) []T {
	b := &p.batches[bi]
	for si := b.first; si >= 0; {
		s := &p.slots[si]
		out = append(out, s.task)
		if w != nil {
			if s.x != nil || p.hooks.brk != nil || p.rt != nil {
				w.xs = append(w.xs, s.x)
			}
			if p.rt != nil {
				w.attempts = append(w.attempts, s.attempt)
			}
		} else if s.x != nil {
			s.x.finishReturned()
		}
		next := s.next
		*s = batchSlot[T]{next: p.freeSlot}
		p.freeSlot = si
		si = next
	}
	p.queued -= b.n
	*b = batchHdr[K]{next: p.freeBatch}
	p.freeBatch = bi
	return out
}

// flusher hands over batches whose linger time has run out. It sleeps
// until the oldest open batch is due, or until a batch opens while none
// was open.
func (p *Batch[T, K]) flusher() {
	p.life.LabelWorker()
	defer func() {
		p.flushing.Store(false)
		p.life.WorkerExited()
	}()
	linger := p.set.Batch.Linger
	if linger == 0 {
		return // workers take open batches themselves
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return
		}
		now := p.meter.Now()
		flushed := false
		var wait time.Duration = -1
		for bi := p.lingerQ.head; bi >= 0; bi = p.lingerQ.head {
			due := p.batches[bi].opened + int64(linger)
			if due > now {
				wait = time.Duration(due - now)
				break
			}
			p.flushLocked(bi, FlushLinger)
			flushed = true
		}
		p.mu.Unlock()
		if flushed {
			p.sleep.WakeAll()
		}
		var timeout <-chan time.Time
		if wait >= 0 {
			p.timer.Reset(wait)
			timeout = p.timer.C
		}
		select {
		case <-timeout:
		case <-p.kick:
			p.timer.Stop()
		case <-p.life.Closing():
			p.timer.Stop()
		}
	}
}

// work is a worker's loop: take a ready batch, hand it over, repeat.
func (p *Batch[T, K]) work(w *batchWorker[T, K]) {
	p.life.LabelWorker()
	defer p.workerExit(w)
	if w.env != nil && !p.life.StartWorker(w.env, p.idle, nil) {
		w.exiting = true
		return
	}
	for {
		// Give way, if the slice says so, before taking the next batch:
		// meanwhile it stays ready, for an idle worker to take (see
		// Worker.Next).
		w.slice.Next(&p.meter.Clock, p.sleep)
		if !p.take(w) {
			break
		}
		p.handleBatch(w)
		if w.env != nil && !p.life.ReopenResource(w.env, p.idle) {
			break
		}
	}
	w.exiting = true
}

// workerExit runs when a worker goroutine ends: normally, or because the
// handler called runtime.Goexit (panics are recovered in call). Then the
// batch is counted as panicked (call reported it) and a new goroutine takes
// the worker's place.
func (p *Batch[T, K]) workerExit(w *batchWorker[T, K]) {
	p.life.ExitWorker(w.env)
	if w.exiting {
		w.meter.Stop(p.meter.Now())
		p.life.WorkerExited()
		return
	}
	// Unless OnError called runtime.Goexit (CallHook counted that, and
	// the batch was counted already), the handler called it: count the
	// batch as panicked.
	if g := p.hooks.brk; g != nil {
		for i := range w.tks {
			g.recordPanic(&w.tks[i])
		}
		w.tks = w.tks[:0]
		clear(w.refused)
		w.refused, w.waited, w.tried = w.refused[:0], w.waited[:0], w.tried[:0]
	}
	if n := len(w.buf); n > 0 && !w.hooking {
		w.meter.Panicked.Add(uint64(n))
		p.bm.BatchFailed()
		if p.rt != nil {
			p.ended(n)
		}
		if len(w.xs) > 0 {
			p.finishAll(w, &poolrt.PanicError{Task: slices.Clone(w.buf), Value: poolrt.ErrGoexit})
		}
	}
	w.hooking = false
	clear(w.buf)
	clear(w.failed)
	w.buf, w.failed, w.attempts = w.buf[:0], w.failed[:0], w.attempts[:0]
	go p.work(w)
}

// take moves the next ready batch into the worker's buffer, waiting for
// one. It reports false when the worker should exit.
func (p *Batch[T, K]) take(w *batchWorker[T, K]) bool {
	for {
		p.mu.Lock()
		var full, kick bool
		if p.rt != nil {
			full, kick = p.requeueLocked()
		}
		took := p.takeLocked(w)
		done := !took && (p.life.State() == Stopped || p.closed && p.nopen == 0 && p.nready == 0 && !p.retrying())
		p.mu.Unlock()
		if full || kick {
			p.wakeFor(full, false, kick) // requeued retries may have made more than this batch
		}
		if took {
			p.life.Room()
			w.meter.SetBusy(true)
			return true
		}
		w.meter.SetBusy(false)
		if done {
			return false
		}
		w.slice.Reset()
		p.sleep.Register(w.id)
		// Look again after registering: a flush that happened before we
		// registered woke nobody.
		p.mu.Lock()
		// A draining pool with retries to come waits for them: the delay
		// queue's timer wakes a worker when one is due, and the last one's
		// end wakes them all (endRetried).
		again := p.ready.head >= 0 || p.set.Batch.Linger == 0 && p.lingerQ.head >= 0 ||
			p.life.State() == Stopped || (p.closed || p.life.State() != Open) && !p.retrying() ||
			p.rt != nil && p.rt.hasReady()
		p.mu.Unlock()
		if again {
			if !p.sleep.Cancel(w.id) {
				p.sleep.Wait(w.id)
			}
			continue
		}
		p.sleep.Wait(w.id)
	}
}

// takeLocked moves the oldest ready batch (under Linger(0), the oldest open
// one if none is ready) into the worker's buffer, freeing its slots: its
// tasks start now.
func (p *Batch[T, K]) takeLocked(w *batchWorker[T, K]) bool {
	if p.life.State() == Stopped {
		return false
	}
	if p.ready.head < 0 && p.set.Batch.Linger == 0 && p.lingerQ.head >= 0 {
		p.flushLocked(p.lingerQ.head, FlushIdle)
	}
	bi := p.ready.head
	if bi < 0 {
		return false
	}
	p.remove(&p.ready, bi)
	p.nready--
	b := &p.batches[bi]
	p.bm.Flushed(b.n, b.reason)
	w.opened, w.flushed = b.opened, b.flushed
	if p.rt != nil {
		w.key = b.key
	}
	w.buf = p.release(bi, w.buf[:0], w)
	return true
}

// handleBatch hands the worker's batch to the handler and counts and
// reports the outcome.
func (p *Batch[T, K]) handleBatch(w *batchWorker[T, K]) {
	g := p.hooks.brk
	if g != nil {
		p.admit(w, g)
		defer p.refuse(w, g)
		if len(w.buf) == 0 {
			return
		}
	}
	n := len(w.buf)
	m := &p.meter.Shards[0]
	timed := p.meter.SampleEvery > 0
	var start int64
	if timed {
		start = p.meter.Now()
		m.Wait.Record(time.Duration(start - w.opened))
		if p.shed != nil {
			p.shed.Observe(time.Duration(start-w.flushed), start)
		}
	}
	if w.actx != nil {
		w.actx.set(w.attempts)
	}
	panicked, to, err := p.call(w.ctx, w.buf)
	if to {
		w.meter.TimedOut.Add(uint64(n))
	}
	if timed {
		d := p.meter.Since(start)
		m.Run.Record(d)
		w.meter.BusyNanos.Add(uint64(d))
	}
	if g != nil {
		for i := range w.tks {
			if panicked {
				g.recordPanic(&w.tks[i])
			} else {
				g.record(&w.tks[i], err)
			}
		}
		w.tks = w.tks[:0]
	}
	switch {
	case panicked:
		p.life.CloseResource(w.env) // see WorkerResource
		w.meter.Panicked.Add(uint64(n))
		p.bm.BatchFailed()
		if p.rt != nil {
			p.ended(n) // a panic is never retried
		}
		p.finishAll(w, err)
	case p.rt != nil:
		p.endRetried(w, err)
	case err != nil:
		w.meter.DoneBatch(n, err)
		p.bm.BatchFailed()
		if p.finishAll(w, err) == n {
			break // every task's submitter has the outcome: it is not OnError's
		}
		w.hooking = true // see workerExit
		p.batchFailed(w.buf, err)
		w.hooking = false
	default:
		w.meter.DoneBatch(n, nil)
		p.finishAll(w, nil)
	}
	clear(w.buf) // drop references for the GC
	w.buf = w.buf[:0]
	w.attempts = w.attempts[:0]
}

// admit lets the worker's batch through its tasks' circuit breakers:
// those turned away leave it for w.refused, counted and their
// submitters told; refuse reports them once the batch is handled.
func (p *Batch[T, K]) admit(w *batchWorker[T, K], g *gate[T]) {
	j := 0
	for i := range w.buf {
		var tk breaker.Ticket
		if g.admit(&w.buf[i], &tk) {
			w.buf[j], w.xs[j] = w.buf[i], w.xs[i]
			if p.rt != nil {
				w.attempts[j] = w.attempts[i]
			}
			w.tks = append(w.tks, tk)
			j++
			continue
		}
		if p.rt != nil {
			// Hold it in the delay queue (poolrt.BreakerPolicy.Hold), with
			// its token, while the pool is open; else it ends here.
			attempt := max(w.attempts[i], 1)
			if g.g.Hold && p.life.State() == Open && p.rt.hold(keyedTask[T, K]{w.buf[i], w.key}, w.xs[i], int(attempt), tk.Breaker()) {
				continue
			}
			p.ended(1)
			w.tried = append(w.tried, attempt-1)
		}
		w.refused = append(w.refused, w.buf[i])
		w.waited = append(w.waited, g.refused(w.xs[i], p.meter))
	}
	clear(w.buf[j:])
	clear(w.xs[j:])
	w.buf, w.xs = w.buf[:j], w.xs[:j]
	if p.rt != nil {
		w.attempts = w.attempts[:j]
	}
}

// refuse reports the tasks of the worker's batch that their breakers
// turned away (admit).
func (p *Batch[T, K]) refuse(w *batchWorker[T, K], g *gate[T]) {
	w.hooking = true // see workerExit
	for i := range w.refused {
		tried := 0
		if p.rt != nil {
			tried = int(w.tried[i])
		}
		g.report(&w.refused[i], w.waited[i], tried, &p.hooks)
	}
	w.hooking = false
	clear(w.refused)
	w.refused, w.waited, w.tried = w.refused[:0], w.waited[:0], w.tried[:0]
}

// batchFailed reports a batch whose handler returned err: to OnError as
// a *poolrt.BatchError holding a copy of its tasks, or, with a typed
// hook, to OnTaskError once per task, with that error.
func (p *Batch[T, K]) batchFailed(items []T, err error) {
	be := &poolrt.BatchError{Err: err, Tasks: slices.Clone(items), Size: len(items)}
	if p.hooks.onError == nil {
		p.set.TaskFailed(reflect.TypeFor[[]T](), be) // the batch, as batchPanicked reports it
		return
	}
	for i := range items {
		p.hooks.failed(&items[i], be)
	}
}

// batchPanicked reports a batch (a copy) whose handler panicked with v:
// to OnPanic with the batch, or, with a typed hook, to OnTaskPanic once
// per task, each PanicError holding the batch. It returns what
// config.Settings.TaskPanicked does, and is called as it must be, from
// the deferred function that recovered.
func (p *Batch[T, K]) batchPanicked(batch []T, v any) (value any, stack []byte) {
	if p.hooks.onPanic == nil {
		return p.set.TaskPanicked(batch, v)
	}
	if v == nil {
		v = poolrt.ErrGoexit
	}
	stack = debug.Stack()
	for _, t := range batch {
		p.set.CallHook("OnTaskPanic", func() { p.hooks.onPanic(t, &poolrt.PanicError{Task: batch, Value: v, Stack: stack}) })
	}
	return v, stack
}

// finishAll gives the outcome err of the worker's batch to the
// completion handles of its tasks, if any, and returns how many of their
// submitters were still waiting for it.
func (p *Batch[T, K]) finishAll(w *batchWorker[T, K], err error) int {
	if len(w.xs) == 0 {
		return 0
	}
	n := 0
	for _, x := range w.xs {
		if x != nil && x.finish(err) {
			n++
		}
	}
	clear(w.xs)
	w.xs = w.xs[:0]
	return n
}

// call runs the handler, recovering a panic (reported with a copy of the
// batch, from the deferred function so that the stack is the handler's,
// and returned as a *poolrt.PanicError for the waiting submitters). With
// a timeout (poolrt.TaskTimeout) the handler's context ends after it, and
// call reports whether the handler timed out: it returned an error after
// that.
func (p *Batch[T, K]) call(ctx context.Context, items []T) (panicked, late bool, err error) {
	panicked = true
	defer func() {
		if panicked {
			batch := slices.Clone(items)
			v, stack := p.batchPanicked(batch, recover())
			err = &poolrt.PanicError{Task: batch, Value: v, Stack: stack}
		}
	}()
	if d := p.set.TaskTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	if p.life.region != "" && trace.IsEnabled() {
		defer trace.StartRegion(ctx, "poolgen.batch "+p.set.Name).End()
	}
	err = p.handle(ctx, items)
	panicked = false
	err, late = timedOut(err, errors.Is(ctx.Err(), context.DeadlineExceeded))
	return false, late, err
}

// runCaller hands a batch of t alone to the handler on the submitter's
// goroutine (CallerRuns policy) and returns the outcome; waited: the
// submitter waits for it (SubmitWait), and a failure is then its, not
// OnError's. It counts the outcome in a deferred function: a handler
// that calls runtime.Goexit skips what follows call (which reported it)
// but not that.
//
// Such a task is never retried: in a pool with dead letters its failure
// is its last, and it is dead-lettered as the other pools' are
// (taskHooks.callerEnded), reported as this pool reports a failed batch
// (endRetried).
func (p *Batch[T, K]) runCaller(t T, waited bool) error {
	p.meter.Shards[0].CallerRuns.Add(1)
	letters := p.set.Letters()
	var err error
	panicked := true // unless call returns
	defer func() {
		if letters && err != nil && !panicked {
			p.meter.deadLettered.Add(1)
		} else {
			p.meter.CallerDone(err, panicked)
		}
		p.bm.Flushed(1, FlushIdle)
		if panicked || err != nil {
			p.bm.BatchFailed()
		}
	}()
	var to bool
	panicked, to, err = p.call(p.life.Context(), []T{t})
	if to {
		p.meter.Caller.TimedOut.Add(1)
	}
	if err != nil && !panicked && !(waited && (p.rt == nil || p.rt.dead == nil)) {
		p.reportLast([]T{t}, []int32{1}, err) // unless the submitter has had it
	}
	return err
}

// Shutdown stops intake, hands every open batch over at once (however
// small), lets the workers handle every batch and waits for them to exit.
// If ctx is done first, Shutdown returns ctx's error while the pool goes
// on draining; ShutdownNow then stops it.
func (p *Batch[T, K]) Shutdown(ctx context.Context) error {
	p.stop(Draining)
	return p.life.Wait(ctx)
}

// ShutdownNow stops intake, cancels the context passed to running
// handlers, waits for them to return and the workers to exit, and returns
// every accepted task never handed over, oldest batch first. Only the
// first call returns tasks.
func (p *Batch[T, K]) ShutdownNow() []T {
	p.stop(Stopped)
	<-p.life.Exited()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.returned {
		return nil
	}
	p.returned = true
	var out []T
	for _, l := range []*batchList{&p.ready, &p.lingerQ} {
		for bi := l.head; bi >= 0; bi = l.head {
			p.remove(l, bi)
			out = p.release(bi, out, nil)
		}
	}
	clear(p.open)
	p.last = -1
	p.nopen, p.nready = 0, 0
	if p.rt != nil {
		for _, k := range p.rt.drain(nil) {
			out = append(out, k.task)
		}
	}
	p.meter.Returned(len(out))
	return out
}

// stop closes intake and moves the pool to state to; under Draining every
// open batch is flushed.
func (p *Batch[T, K]) stop(to State) {
	p.life.Stop(to, func() {
		p.mu.Lock()
		p.closed = true
		if to == Draining {
			for bi := p.lingerQ.head; bi >= 0; bi = p.lingerQ.head {
				p.flushLocked(bi, FlushShutdown)
			}
		}
		p.mu.Unlock()
	})
	p.sleep.WakeAll()
}

// Stats returns a snapshot of the pool's metrics; Stats.Batch holds the
// batch counters.
func (p *Batch[T, K]) Stats() poolrt.Stats {
	p.mu.Lock()
	queued, open, ready, submitted := p.queued, p.nopen, p.nready, p.submitted
	p.mu.Unlock()
	live := p.life.Live()
	if p.flushing.Load() {
		live-- // not a worker
	}
	st := p.meter.Snapshot(live, queued, len(p.slots))
	st.Submitted += submitted
	st.Batch = p.bm.Snapshot(open, ready)
	p.life.WorkerStats(&st)
	return st
}

// idle reports whether no batch waits for a worker, open or ready.
func (p *Batch[T, K]) idle() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nopen == 0 && p.nready == 0
}

// initRetries sets up the pool's retries, if it has Retry, OnDeadLetter
// or a breaker that holds tasks. The delay queue holds tasks with their
// keys, so its dead-letter handler takes such pairs: it calls the user's,
// checked to take the pool's tasks.
func (p *Batch[T, K]) initRetries() error {
	p.rset = p.set
	if h := p.set.DeadLetter; h != nil {
		f, ok := h.(func(T, error, int))
		if !ok {
			return hookTypeError[T]("OnDeadLetter", h)
		}
		p.rset.DeadLetter = func(k keyedTask[T, K], err error, attempts int) { f(k.task, err, attempts) }
	}
	var err error
	p.rt, err = newRetries[keyedTask[T, K]](&p.rset, p.set.QueueSize, p.sleep.Wake)
	return err
}

// retrying reports whether tasks wait in the delay queue.
func (p *Batch[T, K]) retrying() bool { return p.rt != nil && p.rt.pending.Load() > 0 }

// ended gives back the tokens of n tasks that reached their final
// outcome. A draining pool's parked workers may be waiting for retries
// that are no longer to come: they look again.
func (p *Batch[T, K]) ended(n int) {
	for range n {
		p.rt.release()
	}
	p.life.Room()
	if p.life.State() == Draining {
		p.sleep.WakeAll()
	}
}

// endRetried ends the worker's batch, whose handler returned err, in a
// pool with retries or dead letters. On success every task ends so. On
// failure each task is retried on its own, if err is worth it and it has
// attempts left: it waits in the delay queue, then joins a later batch
// of its key; the others failed for good, as in the other pools
// (retries.settle), but reported together: to the dead-letter handler
// one by one, or as one *poolrt.BatchError of those tasks to OnError, or
// to the log.
func (p *Batch[T, K]) endRetried(w *batchWorker[T, K], err error) {
	rt := p.rt
	n := len(w.buf)
	if err == nil {
		w.meter.DoneBatch(n, nil)
		for _, a := range w.attempts {
			if a > 1 {
				p.meter.retrySucceeded.Add(1)
			}
		}
		p.ended(n)
		p.finishAll(w, nil)
		return
	}
	p.bm.BatchFailed()
	final := 0
	for i := range w.buf {
		attempt := max(int(w.attempts[i]), 1)
		x := w.xs[i]
		if rt.retryable(err, attempt) && rt.schedule(keyedTask[T, K]{w.buf[i], w.key}, x, attempt+1) {
			w.meter.Other.Add(1)
			p.meter.retries.Add(1)
			continue
		}
		final++
		if rt.letters {
			w.meter.Other.Add(1)
			p.meter.deadLettered.Add(1)
		} else {
			w.meter.Done(err)
		}
		if x != nil && x.finish(err) && rt.dead == nil {
			continue // the submitter has the outcome
		}
		w.failed = append(w.failed, w.buf[i])
		w.attempts[len(w.failed)-1] = int32(attempt) // i >= len(failed)-1: read already
	}
	clear(w.xs)
	w.xs = w.xs[:0]
	if final > 0 {
		p.ended(final)
	}
	w.hooking = true // see workerExit
	p.reportLast(w.failed, w.attempts, err)
	w.hooking = false
	clear(w.failed)
	w.failed = w.failed[:0]
}

// reportLast reports the tasks failed, which failed for good with the
// handler's error err, failed[i] after attempts[i] runs, as the other
// pools' reportLast does but together: to the dead-letter handler one by
// one, or as one *poolrt.BatchError of them to OnError (also in a pool
// without dead letters), or to the log.
func (p *Batch[T, K]) reportLast(failed []T, attempts []int32, err error) {
	rt := p.rt
	switch {
	case len(failed) == 0:
	case rt != nil && rt.dead != nil:
		for i := range failed {
			rt.deadLetter(&keyedTask[T, K]{task: failed[i]}, err, int(attempts[i]))
		}
	case rt == nil || !rt.letters || p.hooks.onError != nil || p.set.OnError != nil:
		p.batchFailed(failed, err)
	default:
		for i := range failed {
			p.set.DeadLettered(failed[i], err, int(attempts[i]))
		}
	}
}

// attemptCtx is a batch worker's handler context in a pool with
// retries: it answers poolrt.Attempt with the highest attempt number of
// the batch's tasks (1 when none is a retry). Made once per worker.
type attemptCtx struct {
	context.Context
	n atomic.Int32
}

// set records the attempts of the batch about to be handled.
func (c *attemptCtx) set(attempts []int32) {
	n := int32(1)
	for _, a := range attempts {
		n = max(n, a)
	}
	c.n.Store(n)
}

// Value answers the batch's attempt, then asks the parent.
func (c *attemptCtx) Value(key any) any {
	if _, ok := key.(config.AttemptKey); ok {
		return int(c.n.Load())
	}
	return c.Context.Value(key)
}
