package bench

import (
	"testing"

	"github.com/poolgen/poolgen/bench/tasks"
)

// BenchmarkTiny: workload 1, pure overhead. The smallest task (one atomic
// add), submitted from one goroutine and from GOMAXPROCS goroutines at
// once, to pools of GOMAXPROCS workers: the cost per task is almost all
// pool. ns/op is per task, from submission to completion.
func BenchmarkTiny(b *testing.B) {
	cs := withHandwritten(generatedTiny, handwrittenTiny)
	forSubmitters(b, func(b *testing.B, n int) { runContestants(b, cs, gomaxprocs(), n, newTiny) })
}

// BenchmarkSpin1us: workload 2. A CPU-bound task of about 1 µs (calibrated
// once per process; the rounds are printed as "spin1us-rounds" at the top
// of the output), one submitter and GOMAXPROCS submitters, GOMAXPROCS
// workers. impl=inline runs the same tasks on the submitting goroutines:
// with GOMAXPROCS submitters it is the ideal (every core running tasks,
// nothing else), and a pool's overhead per task is its ns/op minus that
// row's (cmd/report computes it). With one submitter a pool can beat
// inline only by as much as the cores left over by the submitter allow.
func BenchmarkSpin1us(b *testing.B) {
	cs := withHandwritten(generatedSpin1us, handwrittenSpin1us)
	forSubmitters(b, func(b *testing.B, n int) { runContestants(b, cs, gomaxprocs(), n, tasks.NewSpin1us) })
}

// forSubmitters runs f as sub-benchmarks submitters=1 and
// submitters=gomaxprocs (the name stays the same whatever -cpu is).
func forSubmitters(b *testing.B, f func(b *testing.B, submitters int)) {
	b.Run("submitters=1", func(b *testing.B) { f(b, 1) })
	b.Run("submitters=gomaxprocs", func(b *testing.B) { f(b, gomaxprocs()) })
}

func newTiny(c *tasks.Counter) tasks.Tiny { return tasks.Tiny{C: c} }
