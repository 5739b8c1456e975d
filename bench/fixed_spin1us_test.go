package bench

import (
	"testing"

	"github.com/poolgen/poolgen/bench/tasks"
)

// BenchmarkFixedSpin1us: workload 2. One submitter, GOMAXPROCS workers, a
// CPU-bound task of about 1 µs (calibrated once per process; the rounds are
// printed as "spin1us-rounds" at the top of the output). Compare each row
// with impl=inline, the same tasks run one after another on the submitting
// goroutine: a pool's workers can run tasks in parallel, so a row can beat
// inline only by as much as the cores left over by the submitter allow.
func BenchmarkFixedSpin1us(b *testing.B) {
	runContestants(b, lineup(generatedSpin1us, handwrittenSpin1us), tasks.NewSpin1us)
}
