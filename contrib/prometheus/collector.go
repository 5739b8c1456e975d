// Package poolprom exports the statistics of poolgen's named pools to
// Prometheus. A [Collector] reads [poolmon.Pools] when it is scraped, and
// only then: a scrape reads each pool's Stats once — the snapshot its
// Stats method returns, atomic loads of the pool's counters and, in a
// fair pool, a short hold of the scheduler's lock while it lists its
// tenants — and the tasks' path does nothing for it. What a scrape of 100
// pools costs is measured in docs/PERFORMANCE.md (Scraping).
//
//	c, err := poolprom.New()
//	if err != nil { ... }
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(c)
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Only pools with a name (poolrt.Name, or poolrt.RouterName for a router)
// are exported. Every series has the labels pool (the name), pattern
// ("fixed", "dynamic", "stealing", "priority", "batch", "fair" or
// "router") and task (the task type, as package.Type).
//
// The task counters are exact: every task is counted, whatever
// poolrt.LatencySampling. The latency histograms cover the sampled tasks
// only (one in LatencySampling); see below. The help of each family says
// which it is.
//
// Every pool has these families:
//
//	poolgen_tasks_submitted_total      counter    tasks accepted (queued, or run by the submitter)
//	poolgen_tasks_rejected_total       counter    submissions refused with ErrQueueFull
//	poolgen_tasks_caller_runs_total    counter    tasks run by the submitter (CallerRuns)
//	poolgen_tasks_completed_total      counter    tasks whose Run returned, failed ones included
//	poolgen_tasks_failed_total         counter    tasks whose Run returned an error
//	poolgen_tasks_panicked_total       counter    tasks whose Run panicked
//	poolgen_tasks_timed_out_total      counter    tasks that failed after their timeout (in failed)
//	poolgen_task_retries_total         counter    runs given again after a failure (Retry)
//	poolgen_tasks_retry_succeeded_total counter   tasks that succeeded after a retry
//	poolgen_tasks_dead_lettered_total  counter    tasks that failed for good or were failed fast (not in completed)
//	poolgen_tasks_returned_total       counter    tasks handed back unrun by ShutdownNow
//	poolgen_hook_panics_total          counter    panics contained in the user's hooks
//	poolgen_tasks_stuck_total          counter    tasks the Watchdog found running past its threshold
//	poolgen_workers_stuck              gauge      workers running such a task now
//	poolgen_workers                    gauge      worker goroutines
//	poolgen_workers_busy               gauge      workers running tasks
//	poolgen_workers_idle               gauge      workers waiting for work
//	poolgen_queue_depth_tasks          gauge      accepted tasks not yet started
//	poolgen_queue_capacity_tasks       gauge      the queue's capacity
//	poolgen_utilization_ratio          gauge      share of worker time spent running tasks since start
//	poolgen_uptime_seconds             gauge      time since the pool started
//	poolgen_task_wait_seconds          histogram  queue wait, submit to start of Run (sampled tasks)
//	poolgen_task_run_seconds           histogram  run time (sampled tasks)
//	poolgen_tasks_shed_total           counter    submissions refused with ErrOverloaded (Shed)
//	poolgen_shedding                   gauge      1 while the pool sheds load (Shed), else 0
//	poolgen_submits_paced_total        counter    Submit calls that waited while the workers were behind (pacing)
//
// Dynamic pools add the gauges poolgen_scaling_size_workers,
// _min_workers, _max_workers and _peak_workers; the counters
// poolgen_scaling_ups_total, _downs_total, _evaluations_total,
// _surges_total (early evaluations, asked for by tasks backing up),
// _capped_evaluations_total, _downs_held_total (scale-downs the Cooldown
// postponed), _at_max_seconds_total and _at_min_seconds_total (time spent
// at the maximum and at the minimum size); and
// poolgen_scaling_utilization_ratio, the utilization the scaling
// controller measured over its latest interval.
//
// Work-stealing pools add poolgen_stealing_tasks_total{source} (source
// "local", "injector" or "stolen": where the worker found the task),
// poolgen_stealing_steal_attempts_total, poolgen_stealing_steals_total,
// poolgen_stealing_stolen_tasks_total (the tasks the steals took),
// poolgen_stealing_forks_total{destination} (destination "deque",
// "injector" or "inline"), and per worker slot
// poolgen_stealing_worker_tasks_total{worker,source},
// poolgen_stealing_worker_steals_total{worker},
// poolgen_stealing_worker_steal_attempts_total{worker} and
// poolgen_stealing_worker_stolen_tasks_total{worker}. Worker slots from
// [MaxWorkerLabels] (64 by default) up are summed into one series with
// worker="other", so a pool with many workers does not make many series.
//
// Priority pools (priority, deadline and cost orders) add, per band of
// ranks (poolrt.Bands; at most 64 bands, labeled by their
// ranks as "lo..hi", with "-inf" and "+inf" for the open ends),
// poolgen_priority_band_tasks_submitted_total, _completed_total,
// _panicked_total and _returned_total (counters) and
// poolgen_priority_band_wait_seconds (histogram), plus
// poolgen_priority_lowest_max_wait_seconds, the longest wait of the band
// served last. Deadline pools add poolgen_priority_late_tasks_total{outcome}
// (outcome "missed", "dropped" or "handed_off") and
// poolgen_priority_lateness_seconds, a histogram of how late those tasks
// were when a worker took them: of every late task, not a sample.
//
// Batch pools add poolgen_batches_total, poolgen_batches_failed_total,
// poolgen_batch_flushes_total{reason} (reason "full", "linger", "idle" or
// "shutdown"), the gauges poolgen_batches_open and poolgen_batches_ready,
// and poolgen_batch_size_tasks, a histogram of batch sizes with bounds 1,
// 2, 4, ... 2^18 tasks (the bucket le="2^i" counts the batches of at most
// 2^i tasks, exactly; larger batches are only in +Inf).
//
// Fair pools add the gauges poolgen_fair_tenants and
// poolgen_fair_tenants_backlogged, the counters
// poolgen_fair_tenants_forgotten_total and
// poolgen_fair_tenant_queue_full_total, and, per tenant{tenant} among the
// at most poolrt.MaxTenantStats that used the most worker time (the
// tenant's key as fmt.Sprint writes it, quoted as Go quotes a string if
// it is not valid UTF-8, as breaker keys and router classes are too),
// poolgen_fair_tenant_busy_seconds_total,
// poolgen_fair_tenant_tasks_submitted_total and _ended_total (counters,
// since the pool last took the tenant up: they restart from zero, as
// counters do after a restart, when an idle tenant is forgotten and comes
// back) and the gauges poolgen_fair_tenant_queued_tasks,
// poolgen_fair_tenant_running_tasks and poolgen_fair_tenant_weight. Each
// tenant's share of worker time is the rate of its busy seconds over the
// sum of the rates.
//
// Pools with a circuit breaker (poolrt.Breaker) add
// poolgen_breaker_transitions_total{to} (to "open", "half_open" or
// "closed": changes of state of all the pool's breakers),
// poolgen_breaker_tasks_failed_fast_total (tasks that did not run, in
// dead_lettered too), poolgen_breaker_tasks_held_total and the gauge
// poolgen_breaker_tasks_holding (poolrt.BreakerPolicy.Hold), the gauge
// poolgen_breakers{state} (breakers by state), and
// poolgen_breaker_state{key} (1 for the breaker's state, 0 for the
// others, with a state label) for the at most 32 breakers the pool's
// Stats list, those not closed first, so that the key label stays
// bounded.
//
// Pools that pin their workers (poolrt.PinWorkers) add the gauges
// poolgen_affinity_workers_pinned, poolgen_affinity_cpus,
// poolgen_affinity_numa_nodes and poolgen_affinity_cpu_utilization_ratio
// (since the pool started), the counters
// poolgen_affinity_pin_failures_total, poolgen_affinity_cpu_seconds_total
// and poolgen_affinity_pinned_seconds_total (the rate of the first over
// the rate of the second is the recent CPU utilization), and
// poolgen_affinity_worker_cpu_seconds_total{worker} per worker slot, capped
// as the work-stealing pools' slots are ([MaxWorkerLabels]).
//
// Pools with per-worker resources (poolrt.WorkerResource) add the gauges
// poolgen_resources_open and poolgen_resources_workers_unhealthy (workers
// whose resource failed to open, trying again) and the counters
// poolgen_resources_opened_total, poolgen_resources_closed_total and
// poolgen_resources_open_failures_total.
//
// Pools that have scheduled tasks for later (SubmitAfter, SubmitAt) add
// the counters poolgen_scheduled_tasks_total (scheduled),
// poolgen_scheduled_tasks_fired_total (handed to the pool at their time;
// from then on in submitted), poolgen_scheduled_tasks_canceled_total
// (pending at Shutdown, or refused at their time by a circuit breaker or
// load shedding) and poolgen_scheduled_tasks_returned_total (handed back
// by ShutdownNow), and the gauges poolgen_scheduled_pending_tasks and
// poolgen_scheduled_limit_tasks. Scheduled is pending plus fired,
// canceled and returned.
//
// # Routers
//
// A router (templates.Router, or a generated XRouter) named with
// poolrt.RouterName is exported as a pool of pattern "router": the
// families every pool has carry the sums of its classes' figures (and
// the affinity, resource and breaker families, when its classes have
// them), and it adds poolgen_router_unknown_class_total (submissions of a
// class no route names), for a lending router poolgen_router_lend_budget_workers
// and poolgen_router_lend_moves_total, and per class{class} (the class as
// fmt.Sprint writes it; the routes are fixed when the router is made, so
// the label is bounded) the gauges poolgen_router_class_workers,
// _workers_busy and _queue_depth_tasks, the counters
// poolgen_router_class_tasks_submitted_total, _completed_total and
// _failed_total, and for a lent class poolgen_router_class_min_workers and
// poolgen_router_class_limit_workers, the limit lending gives it now.
//
// A class's pool that has a name of its own (poolrt.Name("orders/io")) is
// exported too, as the pool it is, with the families of its own pattern —
// a dynamic class's poolgen_scaling_max_workers follows the limit the
// router lends it. Its tasks are then counted twice, once in its pool's
// series and once in the router's: a query that sums over every pool
// should leave the routers out (pattern!="router") or name their classes'
// pools out.
//
// # Latency histograms
//
// The wait, run and lateness histograms are built from
// [poolrt.Latency]'s exact power-of-two classes, the class i ending at
// 1.024µs·2^i, merged into 20 buckets, +Inf included: the bucket le="b"
// counts the observations of every class that ends at or below b, which
// are all shorter than b (an observation of exactly b, to the
// nanosecond, falls in the next bucket), with b = 1.024µs·2^i for i = 0,
// 2, 4, 6 and 8 (1.024µs to 262µs, a factor of four apart), every i from
// 10 to 20 (1.05ms to 1.07s, a factor of two), and 22, 24 and 26 (4.29s
// to 68.7s); longer observations are only in +Inf. The counts are the
// pool's own, summed, not estimated. The wait and run histograms cover
// sampled tasks only, one in poolrt.LatencySampling, so their _count is
// the number of sampled tasks, not of tasks: take task counts from the
// counters. _sum is the mean times _count, to the nanosecond.
// histogram_quantile over their rates gives recent percentiles within a
// factor of two from 1ms to 1s, of four outside; the pools' own
// percentiles (poolmon's page) are finer.
package poolprom

import (
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolmon"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxWorkerLabels is the number of worker slots of a work-stealing
// pool that get a series of their own unless [MaxWorkerLabels] says
// otherwise.
const DefaultMaxWorkerLabels = 64

// OtherWorkers is the worker label of the series that sums the worker
// slots from MaxWorkerLabels up.
const OtherWorkers = "other"

// Collector is a prometheus.Collector of the named pools' statistics. It
// reads them on each scrape. It is safe for concurrent use.
type Collector struct {
	source     func() []poolmon.Pool
	maxWorkers int
}

// Option configures a Collector.
type Option func(*Collector) error

// Source makes the Collector read its pools from pools instead of
// [poolmon.Pools]: for tests, or to export a subset of the pools. pools is
// called once per scrape; the names it returns should be unique (a pool
// whose name came earlier in the same scrape is skipped, as two series
// with the same labels would fail the scrape).
func Source(pools func() []poolmon.Pool) Option {
	return func(c *Collector) error {
		if pools == nil {
			return fmt.Errorf("poolgen: poolprom.Source: the pool source is nil")
		}
		c.source = pools
		return nil
	}
}

// MaxWorkerLabels sets how many worker slots of a work-stealing pool get
// series of their own (worker="0" to worker="n-1"); the counters of the
// slots from n up are summed into worker="other". It bounds the series of
// a pool with many workers. The default is [DefaultMaxWorkerLabels].
func MaxWorkerLabels(n int) Option {
	return func(c *Collector) error {
		if n < 0 {
			return fmt.Errorf("poolgen: poolprom.MaxWorkerLabels(%d): want 0 or more", n)
		}
		c.maxWorkers = n
		return nil
	}
}

// New returns a Collector of the named pools. It returns an error, and no
// Collector, if an option is invalid.
func New(opts ...Option) (*Collector, error) {
	c := &Collector{source: poolmon.Pools, maxWorkers: DefaultMaxWorkerLabels}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// The tails of the help texts that say how a family counts: the task
// counters count every task, the latency histograms only the sampled ones.
const (
	exact   = " Exact: every task is counted, whatever LatencySampling."
	sampled = " Sampled: one task in LatencySampling is timed, so _count is the number of timed tasks; the task counters are exact."
)

// The descriptors, in the order Describe sends them.
var (
	descSubmitted  = newDesc("poolgen_tasks_submitted_total", "Tasks the pool accepted: queued, or run by the submitter under CallerRuns."+exact)
	descRejected   = newDesc("poolgen_tasks_rejected_total", "Submissions the pool refused with ErrQueueFull."+exact)
	descCallerRuns = newDesc("poolgen_tasks_caller_runs_total", "Tasks run on the submitter's goroutine because the queue was full (CallerRuns policy)."+exact)
	descCompleted  = newDesc("poolgen_tasks_completed_total", "Tasks whose Run returned, failed ones included."+exact)
	descFailed     = newDesc("poolgen_tasks_failed_total", "Tasks whose Run returned an error."+exact)
	descPanicked   = newDesc("poolgen_tasks_panicked_total", "Tasks whose Run panicked (not in completed)."+exact)
	descTimedOut   = newDesc("poolgen_tasks_timed_out_total", "Tasks whose Run returned an error after their timeout (TaskTimeout) had passed; in failed too."+exact)
	descRetries    = newDesc("poolgen_task_retries_total", "Runs a task was given again after failing (Retry)."+exact)
	descRetryOK    = newDesc("poolgen_tasks_retry_succeeded_total", "Tasks that succeeded after one or more retries."+exact)
	descDeadLetter = newDesc("poolgen_tasks_dead_lettered_total", "Tasks that failed for good under Retry or OnDeadLetter, or that a circuit breaker failed fast; not in completed or failed."+exact)
	descReturned   = newDesc("poolgen_tasks_returned_total", "Tasks handed back unrun by ShutdownNow."+exact)
	descHookPanics = newDesc("poolgen_hook_panics_total", "Panics in the user's hooks (OnError, OnPanic, a scaling policy) that the pool contained.")
	descStuck      = newDesc("poolgen_tasks_stuck_total", "Tasks the Watchdog found running longer than its threshold (0 without one).")
	descStuckNow   = newDesc("poolgen_workers_stuck", "Workers running a task the Watchdog reported, as of its last look.")
	descWorkers    = newDesc("poolgen_workers", "Worker goroutines.")
	descBusy       = newDesc("poolgen_workers_busy", "Workers running tasks.")
	descIdle       = newDesc("poolgen_workers_idle", "Workers waiting for work.")
	descDepth      = newDesc("poolgen_queue_depth_tasks", "Accepted tasks not yet started.")
	descCap        = newDesc("poolgen_queue_capacity_tasks", "The capacity of the pool's queue.")
	descUtil       = newDesc("poolgen_utilization_ratio", "Estimated share of the workers' time spent running tasks since the pool started, from sampled tasks.")
	descUptime     = newDesc("poolgen_uptime_seconds", "Time since the pool started.")
	descWait       = newDesc("poolgen_task_wait_seconds", "Queue wait, from submit to the start of Run, of sampled tasks."+sampled)
	descRun        = newDesc("poolgen_task_run_seconds", "Run time of sampled tasks."+sampled)
	descShed       = newDesc("poolgen_tasks_shed_total", "Submissions the pool refused with ErrOverloaded because it was shedding load (Shed); not in submitted."+exact)
	descShedding   = newDesc("poolgen_shedding", "1 while the pool sheds load (Shed): it is overloaded and refused a submission within the last interval; else 0.")
	descPaced      = newDesc("poolgen_submits_paced_total", "Submit and SubmitWait calls that waited with room in the queue because the workers were behind: a fixed pool with the default queue size paces its submitters."+exact)

	descScaleSize   = newDesc("poolgen_scaling_size_workers", "Workers a dynamic pool runs or is scaling to.")
	descScaleMin    = newDesc("poolgen_scaling_min_workers", "A dynamic pool's minimum size.")
	descScaleMax    = newDesc("poolgen_scaling_max_workers", "A dynamic pool's maximum size.")
	descScalePeak   = newDesc("poolgen_scaling_peak_workers", "A dynamic pool's largest size so far.")
	descScaleUps    = newDesc("poolgen_scaling_ups_total", "Times a dynamic pool grew.")
	descScaleDowns  = newDesc("poolgen_scaling_downs_total", "Times a dynamic pool shrank.")
	descScaleEvals  = newDesc("poolgen_scaling_evaluations_total", "Evaluations of a dynamic pool's scaling policy.")
	descScaleCapped = newDesc("poolgen_scaling_capped_evaluations_total", "Evaluations whose policy wanted more workers than the maximum: the pool is too small for its load.")
	descScaleUtil   = newDesc("poolgen_scaling_utilization_ratio", "Share of the workers' time they were busy over the scaling controller's latest interval.")
	descScaleSurges = newDesc("poolgen_scaling_surges_total", "Early evaluations of a dynamic pool's scaling policy, asked for by tasks backing up while every worker was busy; in evaluations too.")
	descScaleHeld   = newDesc("poolgen_scaling_downs_held_total", "Scale-downs of a dynamic pool that its Cooldown postponed.")
	descScaleAtMax  = newDesc("poolgen_scaling_at_max_seconds_total", "Time a dynamic pool has spent at its maximum size.")
	descScaleAtMin  = newDesc("poolgen_scaling_at_min_seconds_total", "Time a dynamic pool has spent at its minimum size.")

	descStealTasks    = newDesc("poolgen_stealing_tasks_total", "Tasks workers started, by where they found them: their own deque (local), the shared queue (injector) or another worker's deque (stolen).", "source")
	descStealAttempts = newDesc("poolgen_stealing_steal_attempts_total", "Other workers' deques an idle worker looked into.")
	descSteals        = newDesc("poolgen_stealing_steals_total", "Steals: deques an idle worker took tasks from.")
	descStolenTasks   = newDesc("poolgen_stealing_stolen_tasks_total", "Tasks idle workers took from other workers' deques, about half of what the victim held at each steal.")
	descForks         = newDesc("poolgen_stealing_forks_total", "Subtasks forked, by where they went: the worker's deque, the shared queue (injector), or run at once on the forking goroutine (inline).", "destination")
	descWorkerTasks   = newDesc("poolgen_stealing_worker_tasks_total", "Tasks a worker slot started, by where it found them; slots from the label cap up are summed as worker=\"other\".", "worker", "source")
	descWorkerSteals  = newDesc("poolgen_stealing_worker_steals_total", "Steals by a worker slot; slots from the label cap up are summed as worker=\"other\".", "worker")
	descWorkerLooks   = newDesc("poolgen_stealing_worker_steal_attempts_total", "Other workers' deques a worker slot looked into while idle; slots from the label cap up are summed as worker=\"other\".", "worker")
	descWorkerStolen  = newDesc("poolgen_stealing_worker_stolen_tasks_total", "Tasks a worker slot took from other workers' deques; slots from the label cap up are summed as worker=\"other\".", "worker")

	descBandSubmitted = newDesc("poolgen_priority_band_tasks_submitted_total", "Tasks queued in a band of ranks."+exact, "band")
	descBandCompleted = newDesc("poolgen_priority_band_tasks_completed_total", "Tasks of a band whose Run returned, or that a deadline pool dropped or handed off."+exact, "band")
	descBandPanicked  = newDesc("poolgen_priority_band_tasks_panicked_total", "Tasks of a band whose Run panicked."+exact, "band")
	descBandReturned  = newDesc("poolgen_priority_band_tasks_returned_total", "Tasks of a band handed back unrun by ShutdownNow."+exact, "band")
	descBandWait      = newDesc("poolgen_priority_band_wait_seconds", "Queue wait of a band's sampled tasks."+sampled, "band")
	descLowestMaxWait = newDesc("poolgen_priority_lowest_max_wait_seconds", "Longest queue wait of a sampled task of the band served last: the starvation gauge that aging bounds.")
	descLateness      = newDesc("poolgen_priority_lateness_seconds", "Deadline pools: how long past its deadline a late task was when a worker took it. Every late task is timed, not a sample.")
	descLate          = newDesc("poolgen_priority_late_tasks_total", "Deadline pools: tasks whose deadline had passed when a worker took them, by what became of them."+exact, "outcome")

	descBatches      = newDesc("poolgen_batches_total", "Batches handed to the batch handler.")
	descBatchFailed  = newDesc("poolgen_batches_failed_total", "Batches whose handler returned an error or panicked.")
	descBatchFlushes = newDesc("poolgen_batch_flushes_total", "Batches handed over, by why: full, linger time passed, workers idle, shutdown.", "reason")
	descBatchOpen    = newDesc("poolgen_batches_open", "Batches gathering tasks now.")
	descBatchReady   = newDesc("poolgen_batches_ready", "Batches waiting for a worker now.")
	descBatchSize    = newDesc("poolgen_batch_size_tasks", "Batch sizes: the bucket le=\"2^i\" counts the batches of at most 2^i tasks, for i = 0 to 18; larger ones are only in +Inf.")

	descBreakerChanges = newDesc("poolgen_breaker_transitions_total", "Changes of state of the pool's circuit breakers, by the state entered.", "to")
	descBreakerFast    = newDesc("poolgen_breaker_tasks_failed_fast_total", "Tasks that did not run because their circuit breaker was open; in dead_lettered too.")
	descBreakerHeld    = newDesc("poolgen_breaker_tasks_held_total", "Times a task was held while its circuit breaker was open (Hold).")
	descBreakerHolding = newDesc("poolgen_breaker_tasks_holding", "Tasks held now, waiting for their circuit breaker.")
	descBreakers       = newDesc("poolgen_breakers", "The pool's circuit breakers by state.", "state")
	descBreakerState   = newDesc("poolgen_breaker_state", "State of a listed circuit breaker (at most 32, those not closed first): 1 for its state.", "key", "state")
	descFairTenants    = newDesc("poolgen_fair_tenants", "Tenants a fair pool keeps state for: with tasks queued or running, or ahead of their share lately.")
	descFairBacklogged = newDesc("poolgen_fair_tenants_backlogged", "Tenants of a fair pool with tasks queued.")
	descFairForgotten  = newDesc("poolgen_fair_tenants_forgotten_total", "Idle tenants whose state a fair pool dropped.")
	descFairQueueFull  = newDesc("poolgen_fair_tenant_queue_full_total", "Submissions that met backpressure because their tenant's queue was full (TenantQueueSize) while the pool had room.")
	descTenantBusy     = newDesc("poolgen_fair_tenant_busy_seconds_total", "Worker time a tenant's tasks used, measured, since the pool took the tenant up.", "tenant")
	descTenantSubmit   = newDesc("poolgen_fair_tenant_tasks_submitted_total", "Tasks of a tenant queued since the pool took the tenant up.", "tenant")
	descTenantEnded    = newDesc("poolgen_fair_tenant_tasks_ended_total", "Tasks of a tenant that ran (returned or panicked) since the pool took the tenant up.", "tenant")
	descTenantQueued   = newDesc("poolgen_fair_tenant_queued_tasks", "Tasks of a tenant queued now.", "tenant")
	descTenantRunning  = newDesc("poolgen_fair_tenant_running_tasks", "Tasks of a tenant running now.", "tenant")
	descTenantWeight   = newDesc("poolgen_fair_tenant_weight", "A tenant's weight: its share of worker time is its weight over the backlogged tenants' total.", "tenant")

	descPinned       = newDesc("poolgen_affinity_workers_pinned", "Workers pinned to a CPU now (PinWorkers).")
	descPinCPUs      = newDesc("poolgen_affinity_cpus", "CPUs the pinned workers are spread over: the process's affinity mask.")
	descPinNodes     = newDesc("poolgen_affinity_numa_nodes", "NUMA nodes the pinned workers' CPUs belong to.")
	descPinFailed    = newDesc("poolgen_affinity_pin_failures_total", "Workers whose thread could not be bound to its CPU; they run unbound.")
	descPinCPU       = newDesc("poolgen_affinity_cpu_seconds_total", "CPU time the pinned workers' threads used while pinned, exited workers included.")
	descPinWall      = newDesc("poolgen_affinity_pinned_seconds_total", "Wall time workers were pinned, summed over the workers: the CPU seconds' rate over its rate is the recent CPU utilization.")
	descPinUtil      = newDesc("poolgen_affinity_cpu_utilization_ratio", "CPU time over pinned time since the pool started: the share of its CPU a pinned worker kept busy.")
	descPinWorkerCPU = newDesc("poolgen_affinity_worker_cpu_seconds_total", "CPU time of a pinned worker slot; slots from the label cap up are summed as worker=\"other\".", "worker")

	descSchedTotal    = newDesc("poolgen_scheduled_tasks_total", "Tasks accepted for a later time (SubmitAfter, SubmitAt)."+exact)
	descSchedPending  = newDesc("poolgen_scheduled_pending_tasks", "Scheduled tasks not yet handed to the pool: waiting for their time, or due and waiting for room.")
	descSchedLimit    = newDesc("poolgen_scheduled_limit_tasks", "The most scheduled tasks that may be pending at once: a schedule past it is refused with ErrQueueFull.")
	descSchedFired    = newDesc("poolgen_scheduled_tasks_fired_total", "Scheduled tasks handed to the pool at their due time; from then on in submitted."+exact)
	descSchedCanceled = newDesc("poolgen_scheduled_tasks_canceled_total", "Scheduled tasks that never reached the pool: pending at Shutdown, or refused at their due time by a circuit breaker or load shedding; each went to OnDeadLetter."+exact)
	descSchedReturned = newDesc("poolgen_scheduled_tasks_returned_total", "Scheduled tasks ShutdownNow handed back."+exact)

	descResOpen      = newDesc("poolgen_resources_open", "Per-worker resources open now (WorkerResource).")
	descResUnhealthy = newDesc("poolgen_resources_workers_unhealthy", "Workers whose resource failed to open, trying again.")
	descResOpened    = newDesc("poolgen_resources_opened_total", "Per-worker resources opened.")
	descResClosed    = newDesc("poolgen_resources_closed_total", "Per-worker resources closed.")
	descResFailed    = newDesc("poolgen_resources_open_failures_total", "Failed opens of per-worker resources, panics in open included.")

	descRouterUnknown  = newDesc("poolgen_router_unknown_class_total", "Submissions whose class no route names: sent to the default route, or refused with ErrUnknownClass.")
	descRouterBudget   = newDesc("poolgen_router_lend_budget_workers", "Workers the router lends between its dynamic classes (Lend).")
	descRouterMoves    = newDesc("poolgen_router_lend_moves_total", "Changes of a class's worker limit by lending.")
	descClassWorkers   = newDesc("poolgen_router_class_workers", "Worker goroutines of a class's pool.", "class")
	descClassBusy      = newDesc("poolgen_router_class_workers_busy", "Workers of a class's pool running tasks.", "class")
	descClassDepth     = newDesc("poolgen_router_class_queue_depth_tasks", "Accepted tasks of a class not yet started.", "class")
	descClassSubmitted = newDesc("poolgen_router_class_tasks_submitted_total", "Tasks a class's pool accepted."+exact, "class")
	descClassCompleted = newDesc("poolgen_router_class_tasks_completed_total", "Tasks of a class whose Run returned, failed ones included."+exact, "class")
	descClassFailed    = newDesc("poolgen_router_class_tasks_failed_total", "Tasks of a class whose Run returned an error."+exact, "class")
	descClassMin       = newDesc("poolgen_router_class_min_workers", "Workers a lent class keeps whatever the others need (its route's Min, at least 1).", "class")
	descClassLimit     = newDesc("poolgen_router_class_limit_workers", "A lent class's current maximum of workers, as lending set it.", "class")

	allFamilies = []*family{
		descSubmitted, descRejected, descCallerRuns, descCompleted, descFailed, descPanicked,
		descTimedOut, descRetries, descRetryOK, descDeadLetter, descReturned, descHookPanics, descStuck, descStuckNow, descWorkers, descBusy, descIdle, descDepth, descCap,
		descUtil, descUptime, descWait, descRun, descShed, descShedding, descPaced,
		descScaleSize, descScaleMin, descScaleMax, descScalePeak, descScaleUps, descScaleDowns,
		descScaleEvals, descScaleCapped, descScaleUtil, descScaleSurges, descScaleHeld, descScaleAtMax, descScaleAtMin,
		descStealTasks, descStealAttempts, descSteals, descStolenTasks, descForks,
		descWorkerTasks, descWorkerSteals, descWorkerLooks, descWorkerStolen,
		descBandSubmitted, descBandCompleted, descBandPanicked, descBandReturned, descBandWait,
		descLowestMaxWait, descLate, descLateness,
		descBatches, descBatchFailed, descBatchFlushes, descBatchOpen, descBatchReady, descBatchSize,
		descBreakerChanges, descBreakerFast, descBreakerHeld, descBreakerHolding, descBreakers, descBreakerState,
		descFairTenants, descFairBacklogged, descFairForgotten, descFairQueueFull,
		descTenantBusy, descTenantSubmit, descTenantEnded, descTenantQueued, descTenantRunning, descTenantWeight,
		descPinned, descPinCPUs, descPinNodes, descPinFailed, descPinCPU, descPinWall, descPinUtil, descPinWorkerCPU,
		descResOpen, descResUnhealthy, descResOpened, descResClosed, descResFailed,
		descSchedTotal, descSchedPending, descSchedLimit, descSchedFired, descSchedCanceled, descSchedReturned,
		descRouterUnknown, descRouterBudget, descRouterMoves,
		descClassWorkers, descClassBusy, descClassDepth, descClassSubmitted, descClassCompleted, descClassFailed,
		descClassMin, descClassLimit,
	}
)

// buckets maps the exact classes of a pool's histogram onto the finite
// buckets of an exported one: bucket k ends with class ends[k] and counts
// the classes up to it, so its bound, the upper end of class ends[k], is
// a true upper bound of every observation it counts. The classes after
// the last end are only in the +Inf bucket.
type buckets struct {
	ends   []int     // the last class of each finite bucket, increasing
	bounds []float64 // each bucket's upper bound
}

// latencyBuckets are the latency histograms' finite buckets: the class i
// of poolrt.Latency.Buckets ends at 1.024µs·2^i, and the buckets end with
// the classes 0, 2, 4, 6 and 8 (1.024µs to 262µs, a factor of four
// apart), every class from 10 to 20 (1.05ms to 1.07s, a factor of two,
// where task latencies and the thresholds of alerts usually are), then
// 22, 24 and 26 (4.29s to 68.7s). With +Inf, 20 buckets.
var latencyBuckets = newBuckets([]int{0, 2, 4, 6, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 22, 24, 26},
	func(class int) float64 { return (time.Duration(1024) << class).Seconds() })

// batchSizeBuckets are the batch size histogram's finite buckets: the
// class i of poolrt.BatchStats.Sizes holds the batches of at most 2^i
// tasks (and more than 2^(i-1)), and each of the classes 0 to 18 is a
// bucket of its own. Larger batches, of more than 262,144 tasks, are only
// in +Inf. With it, 20 buckets.
var batchSizeBuckets = newBuckets([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18},
	func(class int) float64 { return math.Ldexp(1, class) })

func newBuckets(ends []int, upper func(class int) float64) buckets {
	if len(ends) > maxBuckets {
		panic(fmt.Sprintf("poolgen: poolprom: %d buckets; a histogram has room for %d", len(ends), maxBuckets))
	}
	b := buckets{ends: ends, bounds: make([]float64, len(ends))}
	for k, c := range ends {
		b.bounds[k] = upper(c)
	}
	return b
}

// cumulative writes the buckets' running counts of classes into cum, one
// per bucket, and returns the count of every class.
func (b *buckets) cumulative(classes, cum []uint64) uint64 {
	var n uint64
	next := 0
	for k, end := range b.ends {
		for ; next <= end; next++ {
			n += classes[next]
		}
		cum[k] = n
	}
	for _, c := range classes[next:] {
		n += c
	}
	return n
}

// Describe sends the descriptors of every family the Collector may
// export.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range allFamilies {
		ch <- f.desc
	}
}

// Collect reads the pools and sends their metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	pools := c.source()
	seen := make(map[string]bool, len(pools))
	for i := range pools {
		p := &pools[i]
		if seen[p.Name] {
			continue
		}
		seen[p.Name] = true
		c.collectPool(ch, p)
	}
}

func (c *Collector) collectPool(ch chan<- prometheus.Metric, p *poolmon.Pool) {
	e := newEmitter(ch, p.Name, p.Pattern, p.Task)
	s := &p.Stats

	e.counter(descSubmitted, s.Submitted)
	e.counter(descRejected, s.Rejected)
	e.counter(descCallerRuns, s.CallerRuns)
	e.counter(descCompleted, s.Completed)
	e.counter(descFailed, s.Failed)
	e.counter(descPanicked, s.Panicked)
	e.counter(descTimedOut, s.TimedOut)
	e.counter(descRetries, s.Retries)
	e.counter(descRetryOK, s.RetrySucceeded)
	e.counter(descDeadLetter, s.DeadLettered)
	e.counter(descReturned, s.Returned)
	e.counter(descHookPanics, s.HookPanics)
	e.counter(descStuck, s.StuckTasks)
	e.gauge(descStuckNow, float64(s.Stuck))
	e.gauge(descWorkers, float64(s.Workers))
	e.gauge(descBusy, float64(s.Busy))
	e.gauge(descIdle, float64(s.Idle))
	e.gauge(descDepth, float64(s.QueueDepth))
	e.gauge(descCap, float64(s.QueueCap))
	e.gauge(descUtil, s.Utilization)
	e.gauge(descUptime, s.Uptime.Seconds())
	e.latency(descWait, &s.Wait)
	e.latency(descRun, &s.Run)
	e.counter(descShed, s.Shed)
	shedding := 0.0
	if s.Shedding {
		shedding = 1
	}
	e.gauge(descShedding, shedding)
	e.counter(descPaced, s.Paced)

	if sc := s.Scaling; sc != nil {
		e.gauge(descScaleSize, float64(sc.Size))
		e.gauge(descScaleMin, float64(sc.Min))
		e.gauge(descScaleMax, float64(sc.Max))
		e.gauge(descScalePeak, float64(sc.Peak))
		e.counter(descScaleUps, sc.Ups)
		e.counter(descScaleDowns, sc.Downs)
		e.counter(descScaleEvals, sc.Evaluations)
		e.counter(descScaleCapped, sc.Capped)
		e.gauge(descScaleUtil, sc.Last.Utilization)
		e.counter(descScaleSurges, sc.Surges)
		e.counter(descScaleHeld, sc.Held)
		e.seconds(descScaleAtMax, sc.AtMax)
		e.seconds(descScaleAtMin, sc.AtMin)
	}
	if st := s.Stealing; st != nil {
		c.collectStealing(e, st)
	}
	if ps := s.Priority; ps != nil {
		for i := range ps.Bands {
			b := &ps.Bands[i]
			band := BandLabel(b.Lo, b.Hi)
			e.counter(descBandSubmitted, b.Submitted, band)
			e.counter(descBandCompleted, b.Completed, band)
			e.counter(descBandPanicked, b.Panicked, band)
			e.counter(descBandReturned, b.Returned, band)
			e.latency(descBandWait, &b.Wait, band)
		}
		e.gauge(descLowestMaxWait, ps.LowestMaxWait.Seconds())
		if ps.Kind == poolrt.ByDeadline {
			e.counter(descLate, ps.Missed, "missed")
			e.counter(descLate, ps.Dropped, "dropped")
			e.counter(descLate, ps.HandedOff, "handed_off")
			e.latency(descLateness, &ps.Lateness)
		}
	}
	if bs := s.Batch; bs != nil {
		e.counter(descBatches, bs.Batches)
		e.counter(descBatchFailed, bs.Failed)
		e.counter(descBatchFlushes, bs.Full, "full")
		e.counter(descBatchFlushes, bs.Linger, "linger")
		e.counter(descBatchFlushes, bs.Idle, "idle")
		e.counter(descBatchFlushes, bs.Shutdown, "shutdown")
		e.gauge(descBatchOpen, float64(bs.Open))
		e.gauge(descBatchReady, float64(bs.Ready))
		e.histogram(descBatchSize, &batchSizeBuckets, bs.Sizes[:], 0, func(n uint64) float64 { return bs.MeanSize * float64(n) })
	}
	if fs := s.Fair; fs != nil {
		e.gauge(descFairTenants, float64(fs.Tenants))
		e.gauge(descFairBacklogged, float64(fs.Backlogged))
		e.counter(descFairForgotten, fs.Forgotten)
		e.counter(descFairQueueFull, fs.TenantRejected)
		for i := range fs.Top {
			ts := &fs.Top[i]
			tenant := labelValue(ts.Tenant)
			e.seconds(descTenantBusy, ts.Busy, tenant)
			e.counter(descTenantSubmit, ts.Submitted, tenant)
			e.counter(descTenantEnded, ts.Ended, tenant)
			e.gauge(descTenantQueued, float64(ts.Queued), tenant)
			e.gauge(descTenantRunning, float64(ts.Running), tenant)
			e.gauge(descTenantWeight, float64(ts.Weight), tenant)
		}
	}
	if b := s.Breaker; b != nil {
		collectBreaker(e, b)
	}
	if a := s.Affinity; a != nil {
		c.collectAffinity(e, a)
	}
	if r := s.Resources; r != nil {
		e.gauge(descResOpen, float64(r.Open))
		e.gauge(descResUnhealthy, float64(r.Unhealthy))
		e.counter(descResOpened, r.Opened)
		e.counter(descResClosed, r.Closed)
		e.counter(descResFailed, r.Failed)
	}
	if sc := s.Scheduled; sc != nil {
		e.counter(descSchedTotal, sc.Scheduled)
		e.gauge(descSchedPending, float64(sc.Pending))
		e.gauge(descSchedLimit, float64(sc.Limit))
		e.counter(descSchedFired, sc.Fired)
		e.counter(descSchedCanceled, sc.Canceled)
		e.counter(descSchedReturned, sc.Returned)
	}
	if r := s.Router; r != nil {
		collectRouter(e, r)
	}
}

// collectAffinity sends a pinned pool's metrics, per worker slot up to
// the label cap.
func (c *Collector) collectAffinity(e *emitter, a *poolrt.AffinityStats) {
	e.gauge(descPinned, float64(a.Pinned))
	e.gauge(descPinCPUs, float64(a.CPUs))
	e.gauge(descPinNodes, float64(a.NUMANodes))
	e.counter(descPinFailed, a.PinFailed)
	e.seconds(descPinCPU, a.CPUTime)
	e.seconds(descPinWall, a.PinnedTime)
	e.gauge(descPinUtil, a.CPUUtilization)
	for i := range min(len(a.WorkerCPU), c.maxWorkers) {
		e.seconds(descPinWorkerCPU, a.WorkerCPU[i], strconv.Itoa(i))
	}
	if len(a.WorkerCPU) > c.maxWorkers {
		var rest time.Duration
		for _, d := range a.WorkerCPU[c.maxWorkers:] {
			rest += d
		}
		e.seconds(descPinWorkerCPU, rest, OtherWorkers)
	}
}

// collectRouter sends a router's own figures and a few of each class's;
// the class label is bounded by the router's routes, fixed when it was
// made.
func collectRouter(e *emitter, r *poolrt.RouterStats) {
	e.counter(descRouterUnknown, r.Unknown)
	if r.Budget > 0 {
		e.gauge(descRouterBudget, float64(r.Budget))
		e.counter(descRouterMoves, r.Moves)
	}
	for i := range r.Classes {
		cs := &r.Classes[i]
		class := labelValue(cs.Class)
		e.gauge(descClassWorkers, float64(cs.Stats.Workers), class)
		e.gauge(descClassBusy, float64(cs.Stats.Busy), class)
		e.gauge(descClassDepth, float64(cs.Stats.QueueDepth), class)
		e.counter(descClassSubmitted, cs.Stats.Submitted, class)
		e.counter(descClassCompleted, cs.Stats.Completed, class)
		e.counter(descClassFailed, cs.Stats.Failed, class)
		if cs.Lent {
			e.gauge(descClassMin, float64(cs.Min), class)
			e.gauge(descClassLimit, float64(cs.Limit), class)
		}
	}
}

// breakerStates are the states of a breaker, as labels.
var breakerStates = []struct {
	s     poolrt.BreakerState
	label string
}{{poolrt.BreakerClosed, "closed"}, {poolrt.BreakerOpen, "open"}, {poolrt.BreakerHalfOpen, "half_open"}}

// collectBreaker sends a pool's circuit breaker metrics.
func collectBreaker(e *emitter, b *poolrt.BreakerStats) {
	e.counter(descBreakerChanges, b.Opens, "open")
	e.counter(descBreakerChanges, b.HalfOpens, "half_open")
	e.counter(descBreakerChanges, b.Closes, "closed")
	e.counter(descBreakerFast, b.FailedFast)
	e.counter(descBreakerHeld, b.Held)
	e.gauge(descBreakerHolding, float64(b.Holding))
	e.gauge(descBreakers, float64(b.Keys-b.Open-b.HalfOpen), "closed")
	e.gauge(descBreakers, float64(b.Open), "open")
	e.gauge(descBreakers, float64(b.HalfOpen), "half_open")
	for _, k := range b.States {
		key := labelValue(k.Key)
		for _, st := range breakerStates {
			v := 0.0
			if k.State == st.s {
				v = 1
			}
			e.gauge(descBreakerState, v, key, st.label)
		}
	}
}

// collectStealing sends a work-stealing pool's metrics, per worker slot up
// to the label cap.
func (c *Collector) collectStealing(e *emitter, st *poolrt.StealingStats) {
	e.counter(descStealTasks, st.Local, "local")
	e.counter(descStealTasks, st.Injector, "injector")
	e.counter(descStealTasks, st.Stolen, "stolen")
	e.counter(descStealAttempts, st.StealAttempts)
	e.counter(descSteals, st.Steals)
	e.counter(descStolenTasks, st.StolenTasks)
	e.counter(descForks, st.Forked, "deque")
	e.counter(descForks, st.ForkedToInjector, "injector")
	e.counter(descForks, st.ForkedInline, "inline")

	worker := func(label string, w *poolrt.StealingWorkerStats) {
		e.counter(descWorkerTasks, w.Local, label, "local")
		e.counter(descWorkerTasks, w.Injector, label, "injector")
		e.counter(descWorkerTasks, w.Stolen, label, "stolen")
		e.counter(descWorkerSteals, w.Steals, label)
		e.counter(descWorkerLooks, w.StealAttempts, label)
		e.counter(descWorkerStolen, w.StolenTasks, label)
	}
	for i := range min(len(st.Workers), c.maxWorkers) {
		worker(strconv.Itoa(i), &st.Workers[i])
	}
	if len(st.Workers) > c.maxWorkers {
		var rest poolrt.StealingWorkerStats
		for _, w := range st.Workers[c.maxWorkers:] {
			rest.Local += w.Local
			rest.Injector += w.Injector
			rest.Stolen += w.Stolen
			rest.Steals += w.Steals
			rest.StealAttempts += w.StealAttempts
			rest.StolenTasks += w.StolenTasks
		}
		worker(OtherWorkers, &rest)
	}
}

// labelValue returns s, a label made from the user's key (a tenant, a
// breaker's key, a router's class, as fmt.Sprint writes it), as it is if
// it is valid UTF-8, which every label value must be, and else quoted as
// Go quotes a string, so that two such keys stay two series.
func labelValue(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strconv.Quote(s)
}

// BandLabel returns the band label of a priority pool's band of ranks lo
// to hi: "lo..hi", with "-inf" for math.MinInt64 and "+inf" for
// math.MaxInt64, the ranks of the open-ended first and last bands.
func BandLabel(lo, hi int64) string {
	end := func(v int64) string {
		switch v {
		case math.MinInt64:
			return "-inf"
		case math.MaxInt64:
			return "+inf"
		}
		return strconv.FormatInt(v, 10)
	}
	return end(lo) + ".." + end(hi)
}
