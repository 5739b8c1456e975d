package templates

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// BatchPool gathers tasks into batches and hands each batch to one call of
// a handler, on a fixed number of worker goroutines. A batch is handed over
// when it holds poolrt.MaxBatch tasks, when poolrt.Linger has passed since
// its first task arrived, or at Shutdown; nothing is left behind.
//
// Tasks are grouped by their BatchKey: each batch holds tasks of one key.
// A batch whose handler fails is reported to poolrt.OnError as a
// *poolrt.BatchError holding a copy of its tasks, and a panicking handler
// is recovered and reported to poolrt.OnPanic with them: no task is
// dropped silently. Counters count tasks (a batch of 8 that fails adds 8 to
// Failed); Stats.Batch counts batches, their sizes and why they were
// flushed.
//
// Batches and their slices are reused, so a steady stream allocates
// nothing per task or per batch. Submit is O(1) under one lock: a map
// lookup by key and an append.
//
// A BatchPool is safe for concurrent use. Create one with NewBatchPool.
type BatchPool[T Keyed[K], K comparable] struct {
	handle BatchHandler[T]
	life   poolrt.Lifecycle
	sleep  *poolrt.Sleepers
	meter  *poolrt.Meter
	bm     poolrt.BatchMeter
	set    poolrt.Settings
	timer  *time.Timer   // the linger flusher's
	kick   chan struct{} // wakes the linger flusher: a batch opened (capacity 1)
	// flushing: the linger flusher runs (it counts as live for Shutdown).
	flushing atomic.Bool

	mu       sync.Mutex
	closed   bool
	open     map[K]*batch[T, K] // batches gathering tasks, by key
	lingerQ  batchList[T, K]    // the same batches, oldest first
	ready    batchList[T, K]    // batches waiting for a worker, oldest first
	free     []*batch[T, K]     // handled batches, for reuse
	queued   int                // accepted tasks not yet handed to the handler
	nopen    int
	nready   int
	returned bool
	workers  []batchWorker
}

// batch is a group of tasks of one key.
type batch[T Keyed[K], K comparable] struct {
	key        K
	items      []T
	opened     int64 // clock stamp of its first task
	reason     poolrt.FlushReason
	prev, next *batch[T, K] // in lingerQ while open, in ready once flushed
}

// batchList is an intrusive doubly-linked FIFO of batches.
type batchList[T Keyed[K], K comparable] struct {
	head, tail *batch[T, K]
}

func (l *batchList[T, K]) push(b *batch[T, K]) {
	b.prev, b.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = b
	} else {
		l.head = b
	}
	l.tail = b
}

func (l *batchList[T, K]) remove(b *batch[T, K]) {
	if b.prev != nil {
		b.prev.next = b.next
	} else {
		l.head = b.next
	}
	if b.next != nil {
		b.next.prev = b.prev
	} else {
		l.tail = b.prev
	}
	b.prev, b.next = nil, nil
}

// batchWorker is one worker's state, kept in the pool so that the batch it
// is handling can be reported if the handler panics.
type batchWorker struct {
	id    int
	meter *poolrt.WorkerMeter
}

// NewBatchPool starts a pool that hands batches to handle, configured by
// opts: poolrt.MaxBatch, poolrt.Linger, poolrt.Workers (default
// GOMAXPROCS), poolrt.QueueSize (accepted tasks not yet handed over, at
// least MaxBatch), poolrt.OnFull, poolrt.OnPanic, poolrt.OnError and
// poolrt.Metrics. A nil handler or a bad option is a *poolrt.ConfigError
// and no goroutine is started.
func NewBatchPool[T Keyed[K], K comparable](handle BatchHandler[T], opts ...poolrt.Option) (*BatchPool[T, K], error) {
	if handle == nil {
		return nil, &poolrt.ConfigError{Option: "handler", Reason: "the batch handler is nil"}
	}
	set, err := poolrt.Resolve(poolrt.Batch, opts)
	if err != nil {
		return nil, err
	}
	p := &BatchPool[T, K]{
		handle:  handle,
		set:     set,
		meter:   poolrt.NewMeter(&set, set.Workers, 1),
		sleep:   poolrt.NewSleepers(set.Workers),
		kick:    make(chan struct{}, 1),
		open:    make(map[K]*batch[T, K]),
		workers: make([]batchWorker, set.Workers),
		timer:   time.NewTimer(time.Hour),
	}
	p.timer.Stop()
	p.life.Init(set.Workers + 1) // the workers and the linger flusher
	for i := range p.workers {
		w := &p.workers[i]
		w.id, w.meter = i, p.meter.Worker(i)
		w.meter.Start(p.meter.Now())
		go p.work(w)
	}
	p.flushing.Store(true)
	go p.flusher()
	return p, nil
}

// Submit adds t to the open batch of its key (opening one if there is
// none), waiting while the pool holds QueueSize tasks not yet handed over
// (under the default poolrt.Block policy) until there is room, ctx is done
// or the pool shuts down (poolrt.ErrClosed). Under poolrt.Reject it returns
// poolrt.ErrQueueFull instead; under poolrt.CallerRuns it hands a batch of
// t alone to the handler on the calling goroutine.
func (p *BatchPool[T, K]) Submit(ctx context.Context, t T) error {
	key := t.BatchKey()
	r := p.add(t, key)
	if r == pushed {
		return nil
	}
	if r == pushClosed {
		return poolrt.ErrClosed
	}
	switch p.set.Backpressure {
	case poolrt.Reject:
		p.meter.Shards[0].Rejected.Add(1)
		return poolrt.ErrQueueFull
	case poolrt.CallerRuns:
		p.runCaller(t)
		return nil
	}
	p.life.BeginWait()
	defer p.life.EndWait()
	for {
		switch p.add(t, key) {
		case pushed:
			p.life.PassRoom()
			return nil
		case pushClosed:
			return poolrt.ErrClosed
		}
		if err := p.life.WaitRoom(ctx); err != nil {
			return err
		}
	}
}

// TrySubmit adds t if there is room and never blocks: it returns
// poolrt.ErrQueueFull when the pool is full and poolrt.ErrClosed after
// shutdown, whatever the backpressure policy.
func (p *BatchPool[T, K]) TrySubmit(t T) error {
	switch p.add(t, t.BatchKey()) {
	case pushed:
		return nil
	case pushClosed:
		return poolrt.ErrClosed
	}
	p.meter.Shards[0].Rejected.Add(1)
	return poolrt.ErrQueueFull
}

// add puts t into the open batch of key, flushing the batch if it is full.
func (p *BatchPool[T, K]) add(t T, key K) pushResult {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return pushClosed
	}
	if p.queued >= p.set.QueueSize {
		p.mu.Unlock()
		return pushFull
	}
	b := p.open[key]
	opened := b == nil
	if opened {
		b = p.newBatch(key)
	}
	b.items = append(b.items, t)
	p.queued++
	p.meter.Shards[0].Submitted.Add(1) // under p.mu: single writer
	full := len(b.items) >= p.set.Batch.MaxBatch
	if full {
		p.flushLocked(b, poolrt.FlushFull)
	}
	kick := opened && !full && p.lingerQ.head == b
	p.mu.Unlock()
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
	return pushed
}

// newBatch opens a batch for key, reusing a handled one if it can.
func (p *BatchPool[T, K]) newBatch(key K) *batch[T, K] {
	var b *batch[T, K]
	if n := len(p.free); n > 0 {
		b = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		b = &batch[T, K]{items: make([]T, 0, min(p.set.Batch.MaxBatch, 16))}
	}
	b.key, b.opened = key, p.meter.Now()
	p.open[key] = b
	p.lingerQ.push(b)
	p.nopen++
	return b
}

// flushLocked moves open batch b to the ready list.
func (p *BatchPool[T, K]) flushLocked(b *batch[T, K], r poolrt.FlushReason) {
	delete(p.open, b.key)
	p.lingerQ.remove(b)
	p.nopen--
	b.reason = r
	p.ready.push(b)
	p.nready++
}

// flusher hands over batches whose linger time has run out. It sleeps
// until the oldest open batch is due, or until a batch opens while none
// was open.
func (p *BatchPool[T, K]) flusher() {
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
		for b := p.lingerQ.head; b != nil; b = p.lingerQ.head {
			due := b.opened + int64(linger)
			if due > now {
				wait = time.Duration(due - now)
				break
			}
			p.flushLocked(b, poolrt.FlushLinger)
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
func (p *BatchPool[T, K]) work(w *batchWorker) {
	defer func() {
		w.meter.Stop(p.meter.Now())
		p.life.WorkerExited()
	}()
	for {
		b := p.take(w)
		if b == nil {
			return
		}
		p.handleBatch(w, b)
	}
}

// take returns the next ready batch, waiting for one; nil means the worker
// should exit.
func (p *BatchPool[T, K]) take(w *batchWorker) *batch[T, K] {
	for {
		p.mu.Lock()
		if b := p.takeLocked(); b != nil {
			p.mu.Unlock()
			w.meter.SetBusy(true)
			return b
		}
		done := p.life.State() == poolrt.Stopped || p.closed && p.nopen == 0 && p.nready == 0
		p.mu.Unlock()
		w.meter.SetBusy(false)
		if done {
			return nil
		}
		p.sleep.Register(w.id)
		// Look again after registering: a flush that happened before we
		// registered woke nobody.
		p.mu.Lock()
		again := p.ready.head != nil || p.set.Batch.Linger == 0 && p.lingerQ.head != nil ||
			p.closed || p.life.State() != poolrt.Open
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

// takeLocked pops the oldest ready batch, or under Linger(0) (and at
// shutdown, when every open batch has been flushed) the oldest open one,
// and releases its tasks' room in the queue: they start now.
func (p *BatchPool[T, K]) takeLocked() *batch[T, K] {
	if p.life.State() == poolrt.Stopped {
		return nil
	}
	if p.ready.head == nil && p.set.Batch.Linger == 0 && p.lingerQ.head != nil {
		p.flushLocked(p.lingerQ.head, poolrt.FlushIdle)
	}
	b := p.ready.head
	if b == nil {
		return nil
	}
	p.ready.remove(b)
	p.nready--
	p.queued -= len(b.items)
	p.bm.Flushed(len(b.items), b.reason)
	p.life.Room()
	return b
}

// handleBatch hands b to the handler, counts and reports the outcome, and
// recycles b.
func (p *BatchPool[T, K]) handleBatch(w *batchWorker, b *batch[T, K]) {
	n := len(b.items)
	m := &p.meter.Shards[0]
	start := p.meter.Now()
	timed := p.meter.SampleEvery > 0
	if timed {
		m.Wait.Record(time.Duration(start - b.opened))
	}
	err, panicked := p.call(b.items)
	if timed {
		d := p.meter.Since(start)
		m.Run.Record(d)
		w.meter.BusyNanos.Add(uint64(d))
	}
	switch {
	case panicked:
		w.meter.Panicked.Add(uint64(n))
		p.bm.BatchFailed()
	case err != nil:
		w.meter.DoneBatch(n, err)
		p.bm.BatchFailed()
		p.set.TaskFailed(&poolrt.BatchError{Err: err, Tasks: slices.Clone(b.items), Size: n})
	default:
		w.meter.DoneBatch(n, nil)
	}
	clear(b.items) // drop references for the GC
	b.items = b.items[:0]
	var zero K
	b.key = zero
	p.mu.Lock()
	p.free = append(p.free, b)
	p.mu.Unlock()
}

// call runs the handler, recovering a panic (reported with a copy of the
// batch, from the deferred function so that the stack is the handler's).
func (p *BatchPool[T, K]) call(items []T) (err error, panicked bool) {
	panicked = true
	defer func() {
		if panicked {
			p.set.TaskPanicked(slices.Clone(items), recover())
		}
	}()
	err = p.handle(p.life.Context(), items)
	panicked = false
	return err, false
}

// runCaller hands a batch of t alone to the handler on the submitter's
// goroutine (CallerRuns policy).
func (p *BatchPool[T, K]) runCaller(t T) {
	p.meter.Shards[0].CallerRuns.Add(1)
	items := []T{t}
	err, panicked := p.call(items)
	p.meter.CallerDone(err, panicked)
	p.bm.Flushed(1, poolrt.FlushIdle)
	if panicked || err != nil {
		p.bm.BatchFailed()
	}
	if err != nil {
		p.set.TaskFailed(&poolrt.BatchError{Err: err, Tasks: items, Size: 1})
	}
}

// Shutdown stops intake, hands every open batch over at once (however
// small), lets the workers handle every batch and waits for them to exit.
// If ctx is done first, Shutdown returns ctx's error while the pool goes
// on draining; ShutdownNow then stops it.
func (p *BatchPool[T, K]) Shutdown(ctx context.Context) error {
	p.stop(poolrt.Draining)
	return p.life.Wait(ctx)
}

// ShutdownNow stops intake, cancels the context passed to running
// handlers, waits for them to return and the workers to exit, and returns
// every accepted task never handed over, oldest batch first. Only the
// first call returns tasks.
func (p *BatchPool[T, K]) ShutdownNow() []T {
	p.stop(poolrt.Stopped)
	<-p.life.Exited()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.returned {
		return nil
	}
	p.returned = true
	var out []T
	for _, l := range []*batchList[T, K]{&p.ready, &p.lingerQ} {
		for b := l.head; b != nil; b = l.head {
			out = append(out, b.items...)
			l.remove(b)
			clear(b.items)
			b.items = b.items[:0]
		}
	}
	clear(p.open)
	p.nopen, p.nready, p.queued = 0, 0, 0
	p.meter.Returned(len(out))
	return out
}

// stop closes intake and moves the pool to state to; under Draining every
// open batch is flushed.
func (p *BatchPool[T, K]) stop(to poolrt.State) {
	p.life.Stop(to, func() {
		p.mu.Lock()
		p.closed = true
		if to == poolrt.Draining {
			for b := p.lingerQ.head; b != nil; b = p.lingerQ.head {
				p.flushLocked(b, poolrt.FlushShutdown)
			}
		}
		p.mu.Unlock()
	})
	p.sleep.WakeAll()
}

// Stats returns a snapshot of the pool's metrics; Stats.Batch holds the
// batch counters.
func (p *BatchPool[T, K]) Stats() poolrt.Stats {
	p.mu.Lock()
	queued, open, ready := p.queued, p.nopen, p.nready
	p.mu.Unlock()
	live := p.life.Live()
	if p.flushing.Load() {
		live-- // not a worker
	}
	st := p.meter.Snapshot(live, queued, p.set.QueueSize)
	st.Batch = p.bm.Snapshot(open, ready)
	return st
}
