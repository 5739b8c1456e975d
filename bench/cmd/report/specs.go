package main

import (
	"fmt"
	"math"
	"slices"
)

// The report's sections, one per workload, in README.md's order. The
// texts say what is measured; the benchmarks' doc comments say how.

var (
	baseGenerated = []string{"poolgen-generated"}
	baseStealing  = []string{"poolgen-stealing-generated", "poolgen-generated"}
	basePriority  = []string{"poolgen-priority-generated", "poolgen-generated"}
)

var specs = []spec{
	{
		title: "1. Pure overhead: tiny task (BenchmarkTiny)",
		bench: "Tiny",
		about: `One atomic add per task; GOMAXPROCS workers; one submitter, then
GOMAXPROCS submitters at once. Time per task from submission to
completion (throughput). ` + "`inline`" + ` runs the tasks on the submitting
goroutines: no pool at all.`,
		units: []unitCol{{"ns/op", "ns/task", false}, {"allocs/op", "allocs/task", true}},
		base:  baseGenerated,
	},
	{
		title: "2. 1 µs CPU task (BenchmarkSpin1us)",
		bench: "Spin1us",
		about: `A task spinning about 1 µs (the calibration is in the table at the
top); GOMAXPROCS workers; one and GOMAXPROCS submitters. "overhead" is the
row's time per task minus ` + "`inline`" + ` with GOMAXPROCS submitters (the same
tasks run on every core with no pool): what the pool adds per task over
the ideal. With one submitter a pool cannot reach the ideal, since the
submitter needs a core too.`,
		units: []unitCol{{"ns/op", "ns/task", false}},
		base:  baseGenerated,
		derived: []derived{{"overhead", func(d *dataset, bench, row string, rest []kv) string {
			ideal := median(d, bench, []kv{{"submitters", "gomaxprocs"}, {"impl", "inline"}}, "ns/op")
			if procs, ok := find(rest, "procs"); ok {
				ideal = median(d, bench, []kv{{"submitters", "gomaxprocs"}, {"impl", "inline"}, {"procs", procs}}, "ns/op")
			}
			v := median(d, bench, append(slices.Clone(rest), kv{"impl", row}), "ns/op")
			if math.IsNaN(v) || math.IsNaN(ideal) {
				return "–"
			}
			sign := "+"
			if v < ideal {
				sign = "−"
			}
			return sign + duration(math.Abs(v-ideal))
		}}},
	},
	{
		title: "3. I/O-like: 1 ms blocking tasks, 1,000 workers (BenchmarkSleep1ms)",
		bench: "Sleep1ms",
		about: `Every task sleeps 1 ms (a timer; Linux timers fire on the millisecond,
so ~1.1 ms); every pool has 1,000 workers, so the ideal is ~1.1 µs per
task whatever the cores. One submitter. Memory: bytes allocated per task,
and the peak goroutines and peak bytes (heap objects + stacks, sampled
every 10 ms) above the process's before the pool started.`,
		units: []unitCol{{"ns/op", "ns/task", false}, {"B/op", "B/task", false}, {"allocs/op", "allocs/task", true}, {"peak-goroutines", "peak goroutines", true}, {"peak-MB", "peak heap+stacks", false}},
		base:  baseGenerated,
	},
	{
		title: "4. Fork-join (BenchmarkForkJoin)",
		bench: "ForkJoin",
		split: "tree",
		about: `One op is a whole tree of 32,767 tasks (full size): inner nodes fork
their children into the same pool, leaves spin (balanced: every leaf
~1 µs; skewed-tail: lopsided tree, 1% of leaves 100 µs and 9% 10 µs). A
fork never blocks: where a pool has no non-blocking submit the subtask runs
inline (see BenchmarkForkJoin's comment for each contestant); ` + "`conc`" + ` has
none and is left out (its Go blocks while every worker is busy, so a tree
whose workers all fork deadlocks). "speedup" is ` + "`inline`" + ` (the tree run
recursively on one goroutine) divided by the row.`,
		units: []unitCol{{"ns/op", "per tree", false}, {"ns/node", "per node", false}, {"allocs/op", "allocs/tree", true}},
		base:  baseStealing,
		derived: []derived{{"speedup", func(d *dataset, bench, row string, rest []kv) string {
			seq := median(d, bench, append(slices.Clone(rest), kv{"impl", "inline"}), "ns/op")
			v := median(d, bench, append(slices.Clone(rest), kv{"impl", row}), "ns/op")
			if math.IsNaN(v) || math.IsNaN(seq) || v == 0 {
				return "–"
			}
			return fmt.Sprintf("%.2f×", seq/v)
		}}},
	},
	{
		title: "5. Priority under overload (BenchmarkPriority)",
		bench: "Priority",
		about: `Tasks of the latency task's CPU time (default 20 µs), 20% high priority,
arriving on a schedule at 1.2× the machine's capacity (the same tasks run
on GOMAXPROCS goroutines with no pool, measured just before each row) for
one second (full size), then drained: no contestant can keep up, and all
face the same arrivals. Every bounded queue holds the whole run. Wait from scheduled arrival to start, per class: high (` + "`hi-`" + `) and
low (` + "`lo-`" + `); ` + "`lo-max`" + ` is the lowest class's longest wait, which aging
bounds. The peers and poolgen's fixed pool are FIFO; ` + "`chan-prio`" + ` is a
hand-written two-channel priority pool; poolgen's priority pool orders by
priority, with and without aging.`,
		units: []unitCol{{"hi-p50-ns", "hi p50", false}, {"hi-p99-ns", "hi p99", false}, {"hi-max-ns", "hi max", false}, {"lo-p50-ns", "lo p50", false}, {"lo-p99-ns", "lo p99", false}, {"lo-max-ns", "lo max", false}, {"cap-tasks/s", "capacity", true}, {"late-p99-ns", "generator late p99", true}},
		base:  basePriority,
	},
	{
		title: "6. Batch: per-item cost by group size (BenchmarkBatch)",
		bench: "Batch",
		about: `Items handled by one handler call per group of 1, 8, 64 or 512 items
(a few ns of work per item). poolgen's batch pools group by themselves
(MaxBatch = size); ` + "`chan-batch`" + ` is a hand-written batcher (workers drain up to
size waiting items); every other row gets groups made by the submitter,
one task per group. Time per item, submission to completion.`,
		units: []unitCol{{"ns/op", "ns/item", false}},
		base:  baseGenerated,
	},
	{
		title: "6b. Batch: items per handler call",
		bench: "Batch",
		about: `The group sizes the handler actually got (the same table's runs).
Only ` + "`chan-batch`" + ` can differ from the size: it takes what is waiting.`,
		units: []unitCol{{"items/call", "items/call", true}},
		base:  baseGenerated,
	},
	{
		title: "7. Latency under open-loop load (BenchmarkLatency)",
		bench: "Latency",
		split: "load",
		about: `Tasks of 20 µs CPU time (default), arriving on a schedule at 50% and 90%
of each contestant's own measured capacity for a few seconds per point.
Latency is counted from the **scheduled** arrival to the task's start, so
time a submitter spends blocked in Submit, or a generator that falls
behind, is counted (no coordinated omission); ` + "`sub-p99`" + ` is from the
actual submission to the start (the pool alone); ` + "`late`" + ` is the
generator's own lateness.`,
		units: []unitCol{{"p50-ns", "p50", false}, {"p95-ns", "p95", false}, {"p99-ns", "p99", false}, {"p999-ns", "p99.9", false}, {"max-ns", "max", false}, {"sub-p99-ns", "submit→start p99", false}, {"late-p99-ns", "late p99", true}, {"cap-tasks/s", "capacity", true}},
		base:  baseGenerated,
	},
	{
		title: "8. Memory: bytes per queued task (BenchmarkMemory)",
		bench: "Memory",
		about: `The workers are blocked, then tasks of 32 bytes are queued behind them
(10⁶ in the full size; pools that park a goroutine per waiting task get
fewer, see ` + "`tasks`" + `). HeapAlloc + StackInuse after GC, minus the same
before the pool was made, per queued task; bounded queues are sized to
hold them all (their whole preallocated capacity counts).`,
		units:     []unitCol{{"B/task", "heap+stack/task", false}, {"heap-B/task", "heap/task", false}, {"stack-B/task", "stack/task", false}, {"goroutines/task", "goroutines/task", true}, {"tasks", "tasks", true}},
		base:      baseGenerated,
		noteLabel: "where waiting tasks live",
		note: map[string]string{
			"poolgen-generated":          "preallocated slots of a sharded ring, by value",
			"poolgen-generic":            "preallocated slots of a sharded ring, by value",
			"ants-func":                  "goroutines blocked in Submit (no queue), holding a closure each",
			"ants-withfunc":              "goroutines blocked in Invoke (no queue), the task boxed in an interface",
			"ants-funcgeneric":           "goroutines blocked in Invoke (no queue)",
			"pond-go":                    "closures in pond's unbounded linked buffer",
			"pond-submit":                "closures wrapped with a future each, in the linked buffer",
			"workerpool":                 "closures in an unbounded deque",
			"conc":                       "goroutines blocked in Go (no queue)",
			"errgroup":                   "goroutines blocked in Go (no queue)",
			"gopool":                     "closures in a linked list of pooled task records",
			"go-waitgroup":               "a goroutine per task",
			"chan":                       "the channel's buffer, by value",
			"poolgen-priority-generated": "preallocated slots plus a heap of indices",
			"poolgen-priority-generic":   "preallocated slots plus a heap of indices",
		},
	},
	{
		title: "8b. Idle pool and leftovers (BenchmarkIdle)",
		bench: "Idle",
		about: `A pool of GOMAXPROCS workers: what it holds just after it was made
(` + "`idle`" + `) and after running 10,000 tiny tasks and 10 ms of rest (` + "`warm`" + `),
HeapAlloc + StackInuse and goroutines above the process's before; and
the goroutines still alive after its shutdown returned (waiting up to a
second for them to go).`,
		units: []unitCol{{"idle-B", "idle bytes", false}, {"idle-goroutines", "idle goroutines", true}, {"warm-B", "warm bytes", false}, {"warm-goroutines", "warm goroutines", true}, {"goroutines-left", "goroutines after shutdown", true}},
		base:  baseGenerated,
	},
	{
		title: "8c. Create, run one task, shut down (BenchmarkCreateShutdown)",
		bench: "CreateShutdown",
		about: `The cost of a pool's whole life with one tiny task: construction (for
poolgen: the preallocated queue and the workers), one task, shutdown.`,
		units: []unitCol{{"ns/op", "time", false}, {"B/op", "bytes", false}, {"allocs/op", "allocs", true}},
		base:  baseGenerated,
	},
	{
		title:  "9. Metrics cost (BenchmarkMetricsCost)",
		bench:  "MetricsCost",
		rowKey: "pool",
		about: `Each poolgen pool with its default metrics (` + "`on`" + `: counters and latency
histograms sampled 1 task in 16), ` + "`off`" + ` (Metrics(false): counters only)
and ` + "`every-task`" + ` (LatencySampling(1)). Fixed pools: the 1 µs task, one
submitter; batch pools: batches of 64 items; the other patterns: their
own workloads. The bar is ≤ 5% for on versus off on the 1 µs task.`,
		units:   []unitCol{{"ns/op", "ns/op", false}},
		baseCol: &kv{"metrics", "on"},
	},
}

// headline is the README's table: the main cell of each workload.
var headline = []headlineCol{
	{"tiny, 1 submitter", "Tiny", []kv{{"submitters", "1"}}, "ns/op", baseGenerated},
	{"tiny, GOMAXPROCS submitters", "Tiny", []kv{{"submitters", "gomaxprocs"}}, "ns/op", baseGenerated},
	{"1 µs task, 1 submitter", "Spin1us", []kv{{"submitters", "1"}}, "ns/op", baseGenerated},
	{"1 ms sleep, 1,000 workers", "Sleep1ms", nil, "ns/op", baseGenerated},
	{"fork-join tree (balanced)", "ForkJoin", []kv{{"tree", "balanced"}}, "ns/op", baseStealing},
	{"batch of 64, per item", "Batch", []kv{{"size", "64"}}, "ns/op", baseGenerated},
	{"p99 latency at 90% load", "Latency", []kv{{"load", "90%"}}, "p99-ns", baseGenerated},
	{"bytes per queued task", "Memory", nil, "B/task", baseGenerated},
}

func find(cfg []kv, key string) (string, bool) {
	for _, p := range cfg {
		if p.key == key {
			return p.value, true
		}
	}
	return "", false
}
