package poolrt

import (
	"sync/atomic"
	"time"
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

// Intake counts the tasks a queue shard accepted. Pools that serialise
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
	BusyNanos Counter // sampled run time × sampling period
	busy      atomic.Bool
	// Lifetimes of the slot's workers, for utilisation: the sum of those
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

// Clock reads a pool's monotonic clock as nanoseconds since the pool's
// creation, plus one so that zero can mean "not timed". It uses time.Since,
// so tests under testing/synctest see fake time.
type Clock struct{ epoch time.Time }

// NewClock returns a clock whose epoch is now.
func NewClock() Clock { return Clock{epoch: time.Now()} }

// Now returns the time since the epoch in nanoseconds, plus one.
func (c *Clock) Now() int64 { return int64(time.Since(c.epoch)) + 1 }

// Since returns the time from stamp (a value of Now) to now.
func (c *Clock) Since(stamp int64) time.Duration { return time.Duration(c.Now() - stamp) }

// Uptime returns the time since the epoch.
func (c *Clock) Uptime() time.Duration { return time.Since(c.epoch) }

// Meter is the metrics store of one pool: a WorkerMeter per worker slot and
// a ShardMeter per queue shard, each on its own cache lines, merged only
// when Stats is read.
type Meter struct {
	Clock
	workers     []atomic.Pointer[WorkerMeter] // by worker slot, allocated on first use
	Shards      []ShardMeter
	SampleEvery int // 0 when latency metrics are off
	// Caller counts the outcomes of tasks run on submitters' goroutines
	// under the CallerRuns policy (any goroutine may write them).
	Caller     struct{ Completed, Failed, Panicked atomic.Uint64 }
	returned   atomic.Uint64
	hookPanics *atomic.Uint64 // the Settings'
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

// NewMeter returns a meter for a pool with the given worker slots and
// shards, configured by s. A slot's counters are allocated when the slot
// is first used, so a dynamic pool with a large maximum pays only for the
// workers it runs.
func NewMeter(s *Settings, workers, shards int) *Meter {
	m := &Meter{
		Clock:   NewClock(),
		workers: make([]atomic.Pointer[WorkerMeter], workers),
		Shards:  make([]ShardMeter, shards),
	}
	m.hookPanics = s.hookPanics
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

// Stats is a snapshot of a pool's metrics. Counters are exact; latencies
// come from sampled tasks (see [LatencySampling]). Fields are read one by
// one while the pool runs, so a snapshot taken under load may be off by the
// tasks in flight between two reads. A Stats prints as a summary of a few
// lines ([Stats.String]) and logs through log/slog as a group of its key
// numbers ([Stats.LogValue]).
type Stats struct {
	Workers    int // worker goroutines
	Busy       int // workers running tasks
	Idle       int // workers waiting for work
	QueueDepth int // accepted tasks not yet started (queued, or taken in a worker's batch)
	QueueCap   int

	Submitted  uint64 // tasks accepted (queued, or run by the caller under CallerRuns)
	Rejected   uint64 // Submit/TrySubmit calls refused with ErrQueueFull
	CallerRuns uint64 // tasks run on the submitter's goroutine (CallerRuns policy)
	Completed  uint64 // tasks whose Run returned (Failed included)
	Failed     uint64 // tasks whose Run returned an error
	Panicked   uint64 // tasks whose Run panicked (not in Completed)
	Returned   uint64 // tasks handed back, never run, by ShutdownNow
	// HookPanics counts panics (and runtime.Goexit calls) in the user's
	// hooks — OnError, OnPanic, a ScaleWith policy — that the pool
	// contained and logged. They are not task outcomes: the task is
	// counted once, as the hook's caller saw it.
	HookPanics uint64

	// Utilization is the estimated fraction of worker time spent running
	// tasks since the pool started: sampled run time, scaled by the
	// sampling period, over the time workers were alive (0 when latency
	// metrics are off).
	Utilization float64
	Wait        Latency // queue wait: submit to start of Run
	Run         Latency // run time
	Uptime      time.Duration

	// Pattern-specific sections, nil for other patterns.
	Scaling  *ScalingStats  // dynamic pools
	Stealing *StealingStats // work-stealing pools
	Priority *PriorityStats // priority pools
	Batch    *BatchStats    // batch pools
}

// Snapshot merges the meter into a Stats. The pool supplies the gauges it
// alone knows: live workers and the queue's depth and capacity.
func (m *Meter) Snapshot(workers, queued, queueCap int) Stats {
	st := Stats{Workers: workers, QueueDepth: queued, QueueCap: queueCap, Uptime: m.Uptime()}
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
		st.Submitted += s.Submitted.Load() + s.CallerRuns.Load()
		st.Rejected += s.Rejected.Load()
		st.CallerRuns += s.CallerRuns.Load()
		s.Wait.AddTo(&wait)
		s.Run.AddTo(&run)
	}
	st.Completed += m.Caller.Completed.Load()
	st.Failed += m.Caller.Failed.Load()
	st.Panicked += m.Caller.Panicked.Load()
	st.Returned = m.returned.Load()
	st.Wait, st.Run = wait.Latency(), run.Latency()
	if lived > 0 {
		st.Utilization = min(1, float64(busyNanos)/float64(lived))
	}
	return st
}
