package poolprom

import (
	"fmt"
	"math"
	"testing"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolmon"
)

// latency returns a Latency whose classes are counts (the rest zero),
// with Count their sum and the given mean.
func latency(mean time.Duration, counts map[int]uint64) poolrt.Latency {
	l := poolrt.Latency{Mean: mean}
	for class, n := range counts {
		l.Buckets[class] = n
		l.Count += n
	}
	return l
}

// fixturePools returns one pool of each pattern in a known state, in the
// order poolmon.Pools returns pools: by name.
func fixturePools() []poolmon.Pool {
	base := func(submitted uint64) poolrt.Stats {
		return poolrt.Stats{
			Workers: 4, Busy: 3, Idle: 1, QueueDepth: 7, QueueCap: 128,
			Submitted: submitted, Rejected: 2, CallerRuns: 3, Completed: submitted - 10,
			Failed: 4, Panicked: 1, TimedOut: 2, Returned: 0, HookPanics: 1,
			Retries: 6, RetrySucceeded: 2, DeadLettered: 1, Stuck: 1, StuckTasks: 3,
			Shed: 9, Shedding: true, Paced: 11,
			Utilization: 0.75,
			Wait:        latency(3*time.Microsecond, map[int]uint64{0: 5, 2: 10, 3: 1}),
			Run:         latency(2*time.Millisecond, map[int]uint64{11: 6, 12: 9, 27: 1}),
			Uptime:      90 * time.Second,
		}
	}
	fixed := base(1000)

	dynamic := base(500)
	dynamic.Scaling = &poolrt.ScalingStats{
		Size: 6, Min: 1, Max: 8, Peak: 8, Ups: 5, Downs: 3, Evaluations: 120, Surges: 7, Capped: 2, Held: 4,
		AtMax: 12 * time.Second, AtMin: 30 * time.Second,
		Last: poolrt.ScaleSignals{Utilization: 0.5},
	}

	stealing := base(300)
	stealing.Stealing = &poolrt.StealingStats{
		Local: 100, Injector: 150, Stolen: 40, StealAttempts: 90, Steals: 30, StolenTasks: 60,
		Forked: 120, ForkedToInjector: 5, ForkedInline: 1,
		Workers: []poolrt.StealingWorkerStats{
			{Local: 50, Injector: 50, Stolen: 10, StealAttempts: 30, Steals: 10, StolenTasks: 20},
			{Local: 30, Injector: 60, Stolen: 20, StealAttempts: 40, Steals: 12, StolenTasks: 24},
			{Local: 15, Injector: 30, Stolen: 6, StealAttempts: 15, Steals: 5, StolenTasks: 10},
			{Local: 5, Injector: 10, Stolen: 4, StealAttempts: 5, Steals: 3, StolenTasks: 6},
		},
	}

	priority := base(200)
	priority.Priority = &poolrt.PriorityStats{
		Kind:  poolrt.ByPriority,
		Aging: 50 * time.Millisecond,
		Bands: []poolrt.BandStats{
			{Lo: math.MinInt64, Hi: 4, Submitted: 150, Completed: 140, Panicked: 1,
				Wait: latency(40*time.Microsecond, map[int]uint64{5: 2, 6: 3})},
			{Lo: 5, Hi: math.MaxInt64, Submitted: 50, Completed: 49, Returned: 1,
				Wait: latency(2*time.Microsecond, map[int]uint64{1: 4})},
		},
		LowestMaxWait: 1500 * time.Microsecond,
	}

	deadline := base(100)
	deadline.Priority = &poolrt.PriorityStats{
		Kind:          poolrt.ByDeadline,
		Bands:         []poolrt.BandStats{{Lo: math.MinInt64, Hi: math.MaxInt64, Submitted: 100, Completed: 90}},
		LowestMaxWait: time.Millisecond,
		Missed:        3, Dropped: 7, HandedOff: 1,
		// Every late task is timed: 11 of them, 80µs to a second late.
		Lateness: latency(40*time.Millisecond, map[int]uint64{7: 2, 15: 6, 19: 2, 20: 1}),
	}

	batch := base(640)
	batch.Batch = &poolrt.BatchStats{
		Batches: 12, Failed: 1, MeanSize: 53.25, Full: 9, Linger: 2, Idle: 0, Shutdown: 1,
		Open: 1, Ready: 2,
	}
	batch.Batch.Sizes[0] = 1 // one batch of 1
	batch.Batch.Sizes[5] = 2 // two of 17..32
	batch.Batch.Sizes[6] = 9 // nine of 33..64

	breaker := base(800)
	breaker.Breaker = &poolrt.BreakerStats{
		Opens: 3, HalfOpens: 2, Closes: 1, FailedFast: 40, Held: 5, Holding: 2,
		Keys: 3, Open: 1, HalfOpen: 1,
		States: []poolrt.BreakerKeyState{
			{Key: "billing", State: poolrt.BreakerOpen},
			{Key: "search", State: poolrt.BreakerHalfOpen},
			{Key: "mail", State: poolrt.BreakerClosed, Failures: 1},
		},
	}

	fair := base(900)
	fair.Fair = &poolrt.FairStats{
		Tenants: 3, Backlogged: 2, Forgotten: 40, TenantRejected: 5,
		Top: []poolrt.TenantStats{
			{Tenant: "acme", Weight: 3, Queued: 12, Running: 3, Submitted: 600, Ended: 585, Busy: 45 * time.Second, Share: 0.75},
			{Tenant: "globex", Weight: 1, Queued: 4, Running: 1, Submitted: 250, Ended: 245, Busy: 15 * time.Second, Share: 0.25},
			{Tenant: "initech", Weight: 1},
		},
	}

	pinned := base(700)
	pinned.Affinity = &poolrt.AffinityStats{
		Pinned: 3, CPUs: 4, NUMANodes: 2, PinFailed: 1,
		CPUTime: 6 * time.Second, PinnedTime: 8 * time.Second, CPUUtilization: 0.75,
		WorkerCPU: []time.Duration{3 * time.Second, 2 * time.Second, 500 * time.Millisecond, 500 * time.Millisecond},
	}
	pinned.Resources = &poolrt.ResourceStats{Open: 3, Unhealthy: 1, Opened: 9, Closed: 6, Failed: 4}

	scheduled := base(400)
	scheduled.Scheduled = &poolrt.ScheduledStats{
		Scheduled: 120, Pending: 8, Fired: 100, Canceled: 7, Returned: 5, Limit: 1024,
	}

	// The router's classes: a fixed class and two lent dynamic ones; its
	// own figures are their sums, as the router's Stats are.
	class := func(submitted uint64, workers, busy, depth int) poolrt.Stats {
		st := base(submitted)
		st.Workers, st.Busy, st.Idle, st.QueueDepth = workers, busy, workers-busy, depth
		return st
	}
	router := base(600)
	router.Workers, router.Busy, router.Idle, router.QueueDepth = 9, 7, 2, 12
	router.Router = &poolrt.RouterStats{
		Unknown: 4, Budget: 6, Moves: 11,
		Classes: []poolrt.ClassStats{
			{Class: "tiny", Default: true, Stats: class(300, 3, 2, 0)},
			{Class: "io", Lent: true, Min: 2, Limit: 5, Stats: class(200, 5, 5, 12)},
			{Class: "cpu", Lent: true, Min: 1, Limit: 1, Stats: class(100, 1, 0, 0)},
		},
	}

	return []poolmon.Pool{
		{Name: "batch", Pattern: "batch", Task: "generated.Order", Stats: batch},
		{Name: "breaker", Pattern: "fixed", Task: "generated.Order", Stats: breaker},
		{Name: "deadline", Pattern: "priority", Task: "generated.Ticket", Stats: deadline},
		{Name: "dynamic", Pattern: "dynamic", Task: "generated.Resize", Stats: dynamic},
		{Name: "fair", Pattern: "fair", Task: "generated.Request", Stats: fair},
		{Name: "fixed", Pattern: "fixed", Task: "generated.Resize", Stats: fixed},
		{Name: "pinned", Pattern: "fixed", Task: "generated.Resize", Stats: pinned},
		{Name: "priority", Pattern: "priority", Task: "generated.Ticket", Stats: priority},
		{Name: "router", Pattern: "router", Task: "generated.Job", Stats: router},
		{Name: "scheduled", Pattern: "fixed", Task: "generated.Resize", Stats: scheduled},
		{Name: "stealing", Pattern: "stealing", Task: "generated.SumRange", Stats: stealing},
	}
}

// named returns the pool of pools named name.
func named(t *testing.T, pools []poolmon.Pool, name string) poolmon.Pool {
	t.Helper()
	for _, p := range pools {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no pool named %q in the fixture", name)
	return poolmon.Pool{}
}

// manyPools returns n pools, the fixture's pools in turn, with
// unique names: the load of the scrape benchmark.
func manyPools(n int) []poolmon.Pool {
	kinds := fixturePools()
	pools := make([]poolmon.Pool, n)
	for i := range pools {
		pools[i] = kinds[i%len(kinds)]
		pools[i].Name = fmt.Sprintf("%s-%03d", pools[i].Name, i)
	}
	return pools
}
