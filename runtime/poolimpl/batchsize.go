package poolimpl

import (
	"sync/atomic"
	"time"

	"github.com/poolgen/poolgen/internal/testhook"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// BatchBudget bounds the work a worker takes from a shared queue in one
// batch, by the tasks' mean run time: tiny tasks come as many at a time as
// the pool allows (a batch is one lock round trip for all of them), tasks
// of a microsecond ten at a time, and tasks of 10 µs or more one at a
// time. A batch's tasks wait behind each other: in the fixed and dynamic
// pools they are hidden from every other worker until they start, so a
// worker that was idle, or that a dynamic pool just started, found nothing
// to do (draining 40 tasks of 10 ms took 200 ms on 8 workers, the time one
// worker takes for a batch of 20); in the work-stealing pool they wait on
// the worker's deque until it or a thief gets to them.
const BatchBudget = 10 * time.Microsecond

// RunMean is a moving average of a pool's sampled run times, from which
// its workers size the batches they take (BatchBudget). Workers write it
// once per sampled task and read it once per batch, without a lock: an
// update lost to a race is no loss. It has cache lines of its own, so that
// those writes do not slow the reads of what would share them. The zero
// value has seen no task.
type RunMean struct {
	_  [CacheLinePad]byte
	ns atomic.Int64 // 0 until a task has been timed
	_  [CacheLinePad]byte
}

// Record adds a sampled task's run time to the average, which weighs the
// newest sample by a quarter: it follows a change of workload within a
// few samples. A sample counts for at most 4 times the average: a run
// time is measured on the wall clock, and one that spans a preemption or
// a stop of the host's vCPU (milliseconds, for a task of microseconds)
// would otherwise multiply the average for the next dozen samples, and
// with it shrink the batches and the depth at which Submit paces (see
// pacer) right when a backlog is to be worked off; longer tasks still
// raise it 1.75-fold a sample.
func (r *RunMean) Record(d time.Duration) {
	if h := r.ns.Load(); h == 0 {
		r.ns.Store(max(int64(d), 1))
	} else {
		r.ns.Store(max(h+(min(int64(d), 4*h)-h)/4, 1))
	}
}

// Batch returns how many tasks a worker may take at once, at most limit:
// as many as BatchBudget holds by the mean run time; one until a task has
// been timed, in case they are long; limit when tasks are never timed
// (sampleEvery is 0: latency metrics are off).
func (r *RunMean) Batch(sampleEvery, limit int) int {
	if sampleEvery == 0 {
		return limit
	}
	h := r.ns.Load()
	if h == 0 {
		return 1
	}
	return int(min(max(int64(BatchBudget)/h, 1), int64(limit)))
}

// takeLimit returns how many tasks a worker may take from the queue at
// once, at most limit: one while other workers are parked (a batch would
// make its tasks wait behind each other while a parked worker, woken for
// them, found nothing), else as many as [BatchBudget] holds by the run
// times in runs.
func takeLimit(s *config.Settings, runs *RunMean, parked bool, limit int) int {
	switch {
	case testhook.TakeAll.Load():
		return limit
	case parked:
		return 1
	case !s.Metrics:
		return runs.Batch(0, limit)
	}
	return runs.Batch(s.SampleEvery, limit)
}

// takeShares returns the fractions of a shard's tasks that one of workers
// workers takes at once: 1/home of its home shard's, 1/steal of another's.
// A batch must not hide from idle workers tasks they could run: half when
// each shard has one worker, less when workers share shards, everything
// when there is a single worker.
func takeShares(s *config.Settings, workers int) (home, steal int) {
	if testhook.TakeAll.Load() {
		return 1, 1
	}
	share := max(1, (workers+s.Shards-1)/s.Shards) // workers per shard
	home = share + 1
	if workers <= 1 {
		home = 1
	}
	return home, max(2, share)
}
