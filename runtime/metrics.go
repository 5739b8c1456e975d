package poolrt

import (
	"time"
)

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
	// TimedOut counts the tasks (a batch pool: the tasks of the batches)
	// whose Run returned an error after its timeout (TaskTimeout, or the
	// task's Timeout method) had passed; they are in Failed too.
	TimedOut uint64
	Returned uint64 // tasks handed back, never run, by ShutdownNow
	// Retries counts the runs a task was given again after failing
	// (Retry); RetrySucceeded, the tasks that succeeded after one or
	// more. DeadLettered counts the tasks that failed for good under
	// Retry or OnDeadLetter: they are not in Completed or Failed, which
	// count only final outcomes in such a pool (a retried run is in
	// neither); and the tasks a Breaker failed fast (Breaker.FailedFast),
	// which never ran.
	Retries        uint64
	RetrySucceeded uint64
	DeadLettered   uint64
	// HookPanics counts panics (and runtime.Goexit calls) in the user's
	// hooks — OnError, OnPanic, a ScaleWith policy — that the pool
	// contained and logged. They are not task outcomes: the task is
	// counted once, as the hook's caller saw it.
	HookPanics uint64
	// Stuck is the number of workers running a task that has run longer
	// than the Watchdog threshold, as of the watchdog's last look;
	// StuckTasks counts every such task it reported (0 without Watchdog).
	Stuck      int
	StuckTasks uint64

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
	Router   *RouterStats   // routers: per-class Stats

	// Breaker is the circuit breaker section, nil for a pool without a
	// [Breaker].
	Breaker *BreakerStats

	// Shed counts the submissions refused with ErrOverloaded ([Shed]).
	// Like Rejected, they were never accepted: they are not in Submitted.
	Shed uint64
	// Shedding reports whether the pool is shedding load now: it is in
	// the shedding state and refused a submission within the last
	// interval.
	Shedding bool

	// Paced counts the Submit and SubmitWait calls that waited with room
	// in the queue because the workers were behind: a fixed pool whose
	// queue size is the default paces its submitters (see [QueueSize]).
	// Those whose task was then accepted are in Submitted too.
	Paced uint64

	// Worker sections, nil unless the option is given.
	Affinity  *AffinityStats // PinWorkers
	Resources *ResourceStats // WorkerResource
	Fair      *FairStats     // fair pools

	// Scheduled is the section of the tasks scheduled for later
	// (SubmitAfter, SubmitAt), nil until the pool schedules one.
	Scheduled *ScheduledStats
}

// Latency summarizes a distribution of durations.
type Latency struct {
	Count uint64 // observations (sampled tasks, not all tasks)
	Mean  time.Duration
	P50   time.Duration
	P95   time.Duration
	P99   time.Duration
	P999  time.Duration
	Max   time.Duration
	// Buckets counts the observations by duration: Buckets[0] those under
	// 1.024µs, Buckets[i] those from 1.024µs·2^(i-1) up to (not including)
	// 1.024µs·2^i, and the last one every observation from 1.024µs·2^26
	// (about 69s) up. The classes are exact, not estimated: they sum to
	// Count, and their running sum is a cumulative histogram for an
	// exporter; the difference of two snapshots' Buckets is the
	// distribution of the observations between them.
	Buckets [28]uint64
}
