package poolimpl

import (
	"sync/atomic"
	"testing"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
	"github.com/stretchr/testify/require"
)

// TestEngineBatchBudget: a worker of the fixed and dynamic pools takes as
// many tasks at once as poolrt.BatchBudget holds by the sampled run
// times: one until a task has been timed, one while they take longer than
// the budget (a batch would hide them from other workers until they
// start), ten of a microsecond, maxBatch tiny ones, and maxBatch when
// nothing is timed (latency metrics off).
func TestEngineBatchBudget(t *testing.T) {
	cases := []struct {
		name    string
		metrics bool
		runs    []time.Duration // sampled run times recorded before the take
		want    int
	}{
		{"untimed", true, nil, 1},
		{"long", true, []time.Duration{20 * time.Microsecond}, 1},
		{"1µs", true, []time.Duration{time.Microsecond}, 10},
		{"tiny", true, []time.Duration{50 * time.Nanosecond}, maxBatch},
		{"metrics off", false, nil, maxBatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set, err := config.Resolve(config.Dynamic, []poolrt.Option{
				poolrt.WorkerLimits(0, 1), poolrt.QueueSize(4 * maxBatch), poolrt.Metrics(c.metrics)})
			if err != nil {
				t.Fatal(err)
			}
			e := new(engine[dynCount])
			require.NoError(t, e.init(set, config.Fixed, 1, 0, testLane[dynCount]())) // no worker goroutine: the test takes as one
			t.Cleanup(func() { e.shutdownNow() })
			for _, d := range c.runs {
				e.runs.Record(d)
			}
			var ran atomic.Int64
			for range 2 * maxBatch {
				dynPush(t, e, &ran)
			}
			w := &Worker[dynCount]{e: e, id: 0, meter: e.meter.Worker(0)}
			if !e.refill(w) {
				t.Fatal("refill found no work")
			}
			if w.n != c.want {
				t.Errorf("took %d tasks at once, want %d", w.n, c.want)
			}
			e.q.release(w.from, w.n)
		})
	}
}
