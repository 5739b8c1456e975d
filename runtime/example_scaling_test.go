package poolrt_test

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// Resize is the task of the scaling examples: it stands for a request to
// an image service.
type Resize struct{ ID int }

func (Resize) Run(ctx context.Context) error { return nil }

// A pool that learns its headroom: here waiting tasks cost eight times as
// much as the default says, against idle workers, so the pool settles on
// more spare workers than it would by default.
func ExampleLearning() {
	p, err := templates.NewDynamicPool[Resize](
		poolrt.WorkerLimits(1, 64),
		poolrt.Learning(poolrt.LearningPolicy{Wait: 32, Idle: 0.25}),
	)
	if err != nil {
		panic(err)
	}
	for i := range 1000 {
		p.Submit(context.Background(), Resize{ID: i})
	}
	p.Shutdown(context.Background())
	fmt.Println("completed:", p.Stats().Completed)

	// The option checks its settings.
	_, err = templates.NewDynamicPool[Resize](poolrt.Learning(poolrt.LearningPolicy{Explore: 1}))
	fmt.Println(err)
	// Output:
	// completed: 1000
	// poolgen: invalid option Learning(...): Explore must be within [0, 1)
}

// A pool whose load follows the day: it keeps a profile of the arrival
// rate by half-hour, and grows ahead of the rises that the past days
// showed — the morning peak, the nightly batch.
func ExampleSeasonal() {
	p, err := templates.NewDynamicPool[Resize](
		poolrt.WorkerLimits(2, 256),
		poolrt.Seasonal(poolrt.SeasonalPolicy{
			Period: 24 * time.Hour,
			Slots:  48,
			// Workers of this pool warm a cache on their first tasks:
			// be ready five minutes before a rise.
			Lead:             5 * time.Minute,
			PredictivePolicy: poolrt.PredictivePolicy{TargetUtilization: 0.7},
		}),
	)
	if err != nil {
		panic(err)
	}
	defer p.Shutdown(context.Background())
	fmt.Println("size at start:", p.Size())

	_, err = templates.NewDynamicPool[Resize](poolrt.Seasonal(poolrt.SeasonalPolicy{}))
	fmt.Println(err)
	// Output:
	// size at start: 2
	// poolgen: invalid option Seasonal(...): Period is required and must be positive
}

// backlogPolicy scales a pool on a business metric: the messages waiting
// in an external queue (a broker's topic, a table of pending orders),
// which the pool's own signals cannot see until the messages are
// submitted. It runs one worker per perWorker messages in the backlog,
// and never fewer than the threshold policy asks for on the pool's own
// signals.
type backlogPolicy struct {
	backlog   func() int // reads the external metric; it must return quickly
	perWorker int
	signals   poolrt.ThresholdPolicy
}

func (b backlogPolicy) Scale(s poolrt.ScaleSignals) (int, string) {
	own, reason := b.signals.Scale(s)
	if want := int(math.Ceil(float64(b.backlog()) / float64(b.perWorker))); want > own {
		return want, "external backlog"
	}
	return own, reason
}

// A policy that scales on the user's own metric combined with the pool's
// signals. The policy keeps no state of its own (the backlog is read from
// outside), so one value may serve many pools; the controller calls it
// from one goroutine per pool, and contains a panic in it (the pool keeps
// its size).
func ExampleScalePolicy_businessMetric() {
	var pending atomic.Int64 // in a program: a gauge read from the broker
	policy := backlogPolicy{backlog: func() int { return int(pending.Load()) }, perWorker: 100}

	// What the policy decides, on signals a controller could measure.
	quiet := poolrt.ScaleSignals{Workers: 2, Min: 1, Max: 32, QueueCap: 1024, Utilization: 0.6}
	for _, backlog := range []int64{0, 150, 2500} {
		pending.Store(backlog)
		n, reason := policy.Scale(quiet)
		fmt.Printf("backlog %4d: %d workers (%s)\n", backlog, n, reason)
	}
	busy := quiet
	busy.Utilization = 0.95
	pending.Store(0)
	n, reason := policy.Scale(busy)
	fmt.Printf("busy workers: %d workers (%s)\n", n, reason)

	// In a pool: the controller asks it every ScaleInterval.
	p, err := templates.NewDynamicPool[Resize](poolrt.WorkerLimits(1, 32), poolrt.ScaleWith(policy))
	if err != nil {
		panic(err)
	}
	p.Shutdown(context.Background())
	// Output:
	// backlog    0: 2 workers ()
	// backlog  150: 2 workers ()
	// backlog 2500: 25 workers (external backlog)
	// busy workers: 4 workers (utilization at or above the scale-up threshold)
}
