package bench

import (
	"testing"

	"github.com/poolgen/poolgen/bench/tasks"
)

// BenchmarkFixedTiny: workload 1. One submitter, GOMAXPROCS workers, the
// smallest task (one atomic add): the cost per task is almost all pool.
func BenchmarkFixedTiny(b *testing.B) {
	runContestants(b, lineup(generatedTiny, handwrittenTiny), newTiny)
}

func newTiny(c *tasks.Counter) tasks.Tiny { return tasks.Tiny{C: c} }
