package poolimpl

import (
	"context"
	"errors"
	"math"
	"math/bits"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/breaker"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// CacheLinePad separates data written by different goroutines. 128 bytes
// rather than 64: x86's adjacent-line prefetcher pulls lines in pairs, so
// two hot fields 64 bytes apart still ping-pong between cores.
const CacheLinePad = 128

// Counter is a single-writer counter: one goroutine at a time may Add (a
// worker for its own counters, or any goroutine holding the lock that guards
// it), any goroutine may Load, race-free. Add is an atomic load and store,
// not a read-modify-write: Go's atomic store is sequentially consistent, an
// XCHG on amd64, so Add costs about what an atomic add does (~10 ns), but
// the counter's cache line stays with its one writer.
type Counter struct{ v atomic.Uint64 }

// Add adds n. Only the counter's current owner may call it.
func (c *Counter) Add(n uint64) { c.v.Store(c.v.Load() + n) }

// Load returns the current value.
func (c *Counter) Load() uint64 { return c.v.Load() }

// Intake counts the tasks a queue shard accepted. Pools that serialize
// submissions Add to it like a Counter; the fixed and dynamic pools' queue
// uses it as its ring's tail instead, claiming each count with
// CompareAndSwap, so that submitters share no lock: then Close marks it,
// and no claim succeeds after.
type Intake struct{ v atomic.Uint64 }

// IntakeClosed is the mark Close sets in the word that Raw returns. Counts
// stay below it.
const IntakeClosed = 1 << 63

// Add adds n. Only the intake's current owner may call it.
func (c *Intake) Add(n uint64) { c.v.Store(c.v.Load() + n) }

// Load returns the count.
func (c *Intake) Load() uint64 { return c.v.Load() &^ IntakeClosed }

// Raw returns the count, with IntakeClosed set once Close was called.
func (c *Intake) Raw() uint64 { return c.v.Load() }

// CompareAndSwap sets the word to new if it is old (values as Raw returns
// them) and reports whether it did.
func (c *Intake) CompareAndSwap(old, new uint64) bool { return c.v.CompareAndSwap(old, new) }

// Close sets the closed mark and returns the count as it stands: no
// CompareAndSwap from an unmarked word succeeds after it.
func (c *Intake) Close() uint64 { return c.v.Or(IntakeClosed) &^ IntakeClosed }

// WorkerMeter holds one worker slot's counters. Only the worker in the
// slot writes them.
type WorkerMeter struct {
	_         [CacheLinePad]byte
	Completed Counter // Run returned, with or without an error
	Failed    Counter // Run returned a non-nil error
	Panicked  Counter // Run panicked
	TimedOut  Counter // Run returned an error after its timeout
	BusyNanos Counter // sampled run time × sampling period
	// Other counts the runs that ended as neither Completed nor
	// Panicked: failed and retried later, or dead-lettered (poolrt.Retry),
	// so that every run's end shows in the slot's counters (see watchdog).
	// The work-stealing pool counts here too the tasks a worker took and
	// its breaker turned away, so that each task a worker takes ends in
	// one of its counts (StealMeters.Snapshot derives Local from them).
	Other Counter
	busy  atomic.Bool
	// Lifetimes of the slot's workers, for utilization: the sum of those
	// that exited, and the start of the live one (0: none).
	lived Counter
	since atomic.Int64
}

// Start records that a worker starts in the slot at clock stamp now.
func (w *WorkerMeter) Start(now int64) { w.since.Store(now) }

// Stop records that the slot's worker exits at clock stamp now.
func (w *WorkerMeter) Stop(now int64) {
	if s := w.since.Load(); s != 0 {
		w.lived.Add(uint64(now - s))
		w.since.Store(0)
	}
	w.SetBusy(false)
}

// SetBusy records whether the worker is running tasks (true) or looking for
// work (false). Set once per batch, not per task.
func (w *WorkerMeter) SetBusy(b bool) {
	if w.busy.Load() != b {
		w.busy.Store(b)
	}
}

// DoneBatch counts n tasks handled together, whose handler returned err.
func (w *WorkerMeter) DoneBatch(n int, err error) {
	w.Completed.Add(uint64(n))
	if err != nil {
		w.Failed.Add(uint64(n))
	}
}

// Done counts a task whose Run returned err.
func (w *WorkerMeter) Done(err error) {
	w.Completed.Add(1)
	if err != nil {
		w.Failed.Add(1)
	}
}

// ShardMeter holds the counters and latency histograms of one queue shard.
type ShardMeter struct {
	_ [CacheLinePad]byte
	// Submitted counts tasks accepted into the shard. The fixed and
	// dynamic pools' queue uses it as its ring's tail: each submission
	// writes it, so it has a line of its own.
	Submitted Intake
	_         [CacheLinePad - 8]byte
	// Written by any submitter refused (Rejected) or made to run its
	// task itself (CallerRuns).
	Rejected   atomic.Uint64
	CallerRuns atomic.Uint64
	// Wait is the queue wait (submit to start) and Run the run time of
	// sampled tasks taken from this shard.
	Wait Histogram
	Run  Histogram
}

// Meter is the metrics store of one pool: a WorkerMeter per worker slot and
// a ShardMeter per queue shard, each on its own cache lines, merged only
// when Stats is read.
type Meter struct {
	config.Clock
	workers     []atomic.Pointer[WorkerMeter] // by worker slot, allocated on first use
	Shards      []ShardMeter
	SampleEvery int // 0 when latency metrics are off
	// Caller counts the outcomes of tasks run on submitters' goroutines
	// under the CallerRuns policy (any goroutine may write them).
	Caller   struct{ Completed, Failed, Panicked, TimedOut atomic.Uint64 }
	returned atomic.Uint64
	// retries counts retries scheduled, retrySucceeded the tasks that
	// succeeded after one or more, deadLettered those that failed for
	// good (poolrt.Retry, poolrt.OnDeadLetter).
	retries, retrySucceeded, deadLettered atomic.Uint64
	hookPanics                            *atomic.Uint64 // the Settings'
	// watch is the pool's watchdog (poolrt.Watchdog), or nil.
	watch    *watchdog
	breakers *breaker.Group // the Settings', or nil
	// shed is the load shedding controller, nil when off.
	shed *Shedder
	// handed counts the tasks given to parked workers without passing
	// through a shard (Sleepers.Handed); nil when none can be.
	handed *atomic.Uint64
}

// submitted returns the number of tasks accepted: queued in a shard,
// handed to a parked worker, or run by their submitter.
func (m *Meter) submitted() uint64 {
	var n uint64
	for i := range m.Shards {
		s := &m.Shards[i]
		n += s.Submitted.Load() + s.CallerRuns.Load()
	}
	if m.handed != nil {
		n += m.handed.Load()
	}
	return n
}

// CallerDone counts a task that ran on its submitter's goroutine.
func (m *Meter) CallerDone(err error, panicked bool) {
	switch {
	case panicked:
		m.Caller.Panicked.Add(1)
	case err != nil:
		m.Caller.Failed.Add(1)
		m.Caller.Completed.Add(1)
	default:
		m.Caller.Completed.Add(1)
	}
}

// callerTimedOut returns err, the error of a task run on its submitter's
// goroutine with ctx, as the pool reports it, counting a timeout.
func (m *Meter) callerTimedOut(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	err, to := timedOut(err, errors.Is(ctx.Err(), context.DeadlineExceeded))
	if to {
		m.Caller.TimedOut.Add(1)
	}
	return err
}

// ended returns err, the error of the task a worker ran with tc (nil when
// timeouts are off), as the pool reports it, counting a timeout in w.
func (w *WorkerMeter) ended(tc *taskCtx, err error) error {
	if tc == nil {
		return err
	}
	err, to := tc.end(err)
	if to {
		w.TimedOut.Add(1)
	}
	return err
}

// NewMeter returns a meter for a pool with the given worker slots and
// shards, configured by s. A slot's counters are allocated when the slot
// is first used, so a dynamic pool with a large maximum pays only for the
// workers it runs.
func NewMeter(s *config.Settings, workers, shards int) *Meter {
	m := &Meter{
		Clock:   config.NewClock(),
		workers: make([]atomic.Pointer[WorkerMeter], workers),
		Shards:  make([]ShardMeter, shards),
	}
	m.hookPanics = s.HookPanicCount()
	m.watch = newWatchdog(s, m)
	m.breakers = s.Breaker.Group
	if s.Metrics {
		m.SampleEvery = s.SampleEvery
	}
	return m
}

// Worker returns slot id's meter, allocating it on first use. Pools call
// it when they start a worker, before the worker runs.
func (m *Meter) Worker(id int) *WorkerMeter {
	if w := m.workers[id].Load(); w != nil {
		return w
	}
	w := new(WorkerMeter)
	if !m.workers[id].CompareAndSwap(nil, w) {
		return m.workers[id].Load()
	}
	return w
}

// Slots returns the number of worker slots.
func (m *Meter) Slots() int { return len(m.workers) }

// Returned counts tasks handed back by ShutdownNow.
func (m *Meter) Returned(n int) { m.returned.Add(uint64(n)) }

// Snapshot merges the meter into a Stats. The pool supplies the gauges it
// alone knows: live workers and the queue's depth and capacity.
func (m *Meter) Snapshot(workers, queued, queueCap int) poolrt.Stats {
	st := poolrt.Stats{Workers: workers, QueueDepth: queued, QueueCap: queueCap, Uptime: m.Uptime()}
	if m.hookPanics != nil {
		st.HookPanics = m.hookPanics.Load()
	}
	var busyNanos, lived uint64
	now := m.Now()
	for i := range m.workers {
		w := m.workers[i].Load()
		if w == nil {
			continue
		}
		lived += w.lived.Load()
		if s := w.since.Load(); s != 0 && s < now {
			lived += uint64(now - s)
		}
		st.Completed += w.Completed.Load()
		st.Failed += w.Failed.Load()
		st.Panicked += w.Panicked.Load()
		st.TimedOut += w.TimedOut.Load()
		busyNanos += w.BusyNanos.Load()
		if w.busy.Load() {
			st.Busy++
		}
	}
	st.Busy = min(st.Busy, workers)
	st.Idle = workers - st.Busy
	var wait, run HistogramSnapshot
	for i := range m.Shards {
		s := &m.Shards[i]
		st.Rejected += s.Rejected.Load()
		st.CallerRuns += s.CallerRuns.Load()
		s.Wait.AddTo(&wait)
		s.Run.AddTo(&run)
	}
	st.Submitted = m.submitted()
	st.Completed += m.Caller.Completed.Load()
	st.Failed += m.Caller.Failed.Load()
	st.Panicked += m.Caller.Panicked.Load()
	st.TimedOut += m.Caller.TimedOut.Load()
	st.Returned = m.returned.Load()
	st.Retries = m.retries.Load()
	st.RetrySucceeded = m.retrySucceeded.Load()
	st.DeadLettered = m.deadLettered.Load()
	if m.watch != nil {
		st.Stuck = int(m.watch.stuck.Load())
		st.StuckTasks = m.watch.reported.Load()
	}
	if m.breakers != nil {
		st.Breaker = breakerStats(m.breakers)
	}
	st.Wait, st.Run = wait.Latency(), run.Latency()
	if m.shed != nil {
		m.shed.snapshot(&st)
	}
	if lived > 0 {
		st.Utilization = min(1, float64(busyNanos)/float64(lived))
	}
	return st
}

// BatchMeter counts batches. One per pool; its counters are updated under
// the pool's lock or by atomic adds, and read by Snapshot.
type BatchMeter struct {
	batches atomic.Uint64
	failed  atomic.Uint64
	tasks   atomic.Uint64
	sizes   [len(poolrt.BatchStats{}.Sizes)]atomic.Uint64
	reasons [int(FlushShutdown) + 1]atomic.Uint64
}

// Flushed counts a batch of size tasks handed over for reason r.
func (m *BatchMeter) Flushed(size int, r FlushReason) {
	m.batches.Add(1)
	m.tasks.Add(uint64(size))
	m.sizes[sizeClass(size)].Add(1)
	m.reasons[r].Add(1)
}

// BatchFailed counts a batch whose handler failed or panicked.
func (m *BatchMeter) BatchFailed() { m.failed.Add(1) }

func sizeClass(n int) int {
	if n <= 1 {
		return 0
	}
	return min(bits.Len(uint(n-1)), len(poolrt.BatchStats{}.Sizes)-1)
}

// Snapshot returns the counters, with the gauges the pool supplies.
func (m *BatchMeter) Snapshot(open, ready int) *poolrt.BatchStats {
	st := &poolrt.BatchStats{
		Batches:  m.batches.Load(),
		Failed:   m.failed.Load(),
		Full:     m.reasons[FlushFull].Load(),
		Linger:   m.reasons[FlushLinger].Load(),
		Idle:     m.reasons[FlushIdle].Load(),
		Shutdown: m.reasons[FlushShutdown].Load(),
		Open:     open,
		Ready:    ready,
	}
	for i := range m.sizes {
		st.Sizes[i] = m.sizes[i].Load()
	}
	if st.Batches > 0 {
		st.MeanSize = float64(m.tasks.Load()) / float64(st.Batches)
	}
	return st
}

// StealMeter holds one worker slot's work-stealing counters. Only the
// worker in the slot writes them (and ShutdownNow, once the workers have
// exited).
//
// A task a worker starts bumps at most one counter here: one from the
// shared queue bumps Injector or StolenInjector, a forked one it stole
// bumps StolenForked, and one forked onto its own deque bumps nothing:
// Local is what remains of the tasks the worker ran (its WorkerMeter's
// Completed and Panicked), so the common case of fork-join, a worker
// running what it forked, costs no counter write beyond Completed.
type StealMeter struct {
	_                                      [CacheLinePad]byte
	Injector, StolenInjector, StolenForked Counter
	StealAttempts, Steals, StolenTasks     Counter
	// ForkReturned counts forked subtasks ShutdownNow handed back.
	ForkReturned Counter
	// Delayed counts the tasks the worker took from the delay queue
	// (retries, and tasks a breaker held), submitted or forked: they
	// are not in the start counters above.
	Delayed Counter
}

// StealMeters is the work-stealing part of a pool's metrics: a StealMeter
// per worker slot, each on its own cache lines, and the counters of forks
// that did not reach a deque, which any goroutine may bump.
type StealMeters struct {
	Workers          []StealMeter
	forkedToInjector atomic.Uint64
	forkedInline     atomic.Uint64
}

// NewStealMeters returns the meters of a pool with n worker slots.
func NewStealMeters(n int) *StealMeters {
	return &StealMeters{Workers: make([]StealMeter, n)}
}

// ForkToInjector counts a fork that went to the shared queue.
func (m *StealMeters) ForkToInjector() { m.forkedToInjector.Add(1) }

// ForkInline counts a fork that ran on the forking goroutine.
func (m *StealMeters) ForkInline() { m.forkedInline.Add(1) }

// Snapshot merges the meters into a StealingStats. meter is the pool's
// Meter, whose per-worker Completed and Panicked count every task each
// worker ran; queuedForks is the number of forked subtasks in the deques
// now, which only the pool can tell.
func (m *StealMeters) Snapshot(meter *Meter, queuedForks int) *poolrt.StealingStats {
	st := &poolrt.StealingStats{
		ForkedToInjector: m.forkedToInjector.Load(),
		ForkedInline:     m.forkedInline.Load(),
		Workers:          make([]poolrt.StealingWorkerStats, len(m.Workers)),
	}
	forks := uint64(max(queuedForks, 0))
	for i := range m.Workers {
		w := &m.Workers[i]
		// The tasks the worker ran are read before its start counters: a
		// task is counted as started before it runs, so every task in ran
		// that did not come off its own deque is in other, and one that
		// starts and ends between the reads makes Local low, never high.
		// A task taken from the delay queue is a start of its own
		// (Delayed), not a fork's.
		var ran uint64
		wm := meter.workers[i].Load()
		if wm != nil {
			ran = wm.Completed.Load() + wm.Panicked.Load() + wm.Other.Load()
		}
		stolenForked := w.StolenForked.Load()
		ws := poolrt.StealingWorkerStats{
			Injector:      w.Injector.Load(),
			Stolen:        stolenForked + w.StolenInjector.Load(),
			StealAttempts: w.StealAttempts.Load(),
			Steals:        w.Steals.Load(),
			StolenTasks:   w.StolenTasks.Load(),
		}
		if other := ws.Injector + ws.Stolen + w.Delayed.Load(); wm != nil && ran > other {
			ws.Local = ran - other
		}
		forks += ws.Local + stolenForked + w.ForkReturned.Load()
		st.Workers[i] = ws
		st.Local += ws.Local
		st.Injector += ws.Injector
		st.Stolen += ws.Stolen
		st.StealAttempts += ws.StealAttempts
		st.Steals += ws.Steals
		st.StolenTasks += ws.StolenTasks
	}
	st.Forked = forks
	return st
}

// RankMeter holds a priority pool's per-band metrics: counters written
// under the pool's lock or by one worker each, histograms shared by the
// workers (written for sampled tasks only), merged by Snapshot.
type RankMeter struct {
	set     *config.PrioritySettings
	bands   []bandMeter
	workers []RankWorkerMeter
}

type bandMeter struct {
	_ [CacheLinePad]byte
	// Submitted and Returned are written under the pool's lock.
	Submitted Counter
	Returned  Counter
	Wait      Histogram
}

// RankWorkerMeter holds one worker's per-band and deadline counters. Only
// that worker writes them.
type RankWorkerMeter struct {
	_        [CacheLinePad]byte
	bands    []bandCounts
	missed   Counter
	dropped  Counter
	handed   Counter
	lateness Histogram
}

type bandCounts struct{ completed, panicked Counter }

// NewRankMeter returns the per-band meter of a pool with the given worker
// slots, configured by s (s.Priority must stay unchanged).
func NewRankMeter(s *config.Settings, workers int) *RankMeter {
	nb := 1
	if s.Priority.Kind != poolrt.ByDeadline {
		nb = len(s.Priority.Bounds) + 1
	}
	m := &RankMeter{set: &s.Priority, bands: make([]bandMeter, nb), workers: make([]RankWorkerMeter, workers)}
	counts := make([]bandCounts, nb*workers)
	for i := range m.workers {
		m.workers[i].bands = counts[i*nb : (i+1)*nb : (i+1)*nb]
	}
	return m
}

// Worker returns worker slot id's meter.
func (m *RankMeter) Worker(id int) *RankWorkerMeter { return &m.workers[id] }

// Submitted counts a task queued in band b. Call it under the pool's lock.
func (m *RankMeter) Submitted(b int) { m.bands[b].Submitted.Add(1) }

// Returned counts a task of band b handed back by ShutdownNow. Call it
// under the pool's lock.
func (m *RankMeter) Returned(b int) { m.bands[b].Returned.Add(1) }

// Waited records the queue wait of a sampled task of band b.
func (m *RankMeter) Waited(b int, d time.Duration) { m.bands[b].Wait.Record(d) }

// Done counts a task of band b that completed (Run returned, or a deadline
// pool dropped or handed it off).
func (w *RankWorkerMeter) Done(b int) { w.bands[b].completed.Add(1) }

// Panicked counts a task of band b whose Run (or late handler) panicked.
func (w *RankWorkerMeter) Panicked(b int) { w.bands[b].panicked.Add(1) }

// Late records a late task (deadline pools): how late it was taken.
func (w *RankWorkerMeter) Late(by time.Duration) { w.lateness.Record(by) }

// Missed counts a late task run anyway.
func (w *RankWorkerMeter) Missed() { w.missed.Add(1) }

// Dropped counts a late task dropped.
func (w *RankWorkerMeter) Dropped() { w.dropped.Add(1) }

// HandedOff counts a late task given to the pool's handler.
func (w *RankWorkerMeter) HandedOff() { w.handed.Add(1) }

// Snapshot merges the meter into a PriorityStats, and returns too the
// merged queue wait of every band (the pool's Stats.Wait).
func (m *RankMeter) Snapshot() (*poolrt.PriorityStats, poolrt.Latency) {
	st := &poolrt.PriorityStats{Kind: m.set.Kind, Aging: m.set.Aging, Bands: make([]poolrt.BandStats, len(m.bands))}
	var all, late HistogramSnapshot
	for b := range m.bands {
		bs := &st.Bands[b]
		bs.Lo, bs.Hi = math.MinInt64, math.MaxInt64
		if b > 0 {
			bs.Lo = m.set.Bounds[b-1]
		}
		if b < len(m.bands)-1 {
			bs.Hi = m.set.Bounds[b] - 1
		}
		bm := &m.bands[b]
		bs.Submitted, bs.Returned = bm.Submitted.Load(), bm.Returned.Load()
		var wait HistogramSnapshot
		bm.Wait.AddTo(&wait)
		bm.Wait.AddTo(&all)
		bs.Wait = wait.Latency()
	}
	for i := range m.workers {
		w := &m.workers[i]
		for b := range w.bands {
			st.Bands[b].Completed += w.bands[b].completed.Load()
			st.Bands[b].Panicked += w.bands[b].panicked.Load()
		}
		st.Missed += w.missed.Load()
		st.Dropped += w.dropped.Load()
		st.HandedOff += w.handed.Load()
		w.lateness.AddTo(&late)
	}
	st.LowestMaxWait = st.Bands[min(m.set.Lowest(), len(st.Bands)-1)].Wait.Max
	st.Lateness = late.Latency()
	return st, all.Latency()
}
