package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/poolgen/poolgen/bench/tasks"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// The dynamic pools join the I/O-like and latency workloads (where
// following the load matters) and BenchmarkMetricsCost. They get
// WorkerLimits(1, workers): they start with one worker and may grow to the
// workers every other contestant has from the start, under the default
// scaling policy.
func init() {
	sleepExtra = append(sleepExtra,
		dynamicContestant("poolgen-dynamic-generated", tasks.NewSleepDynamicPool),
		dynamicContestant("poolgen-dynamic-generic", templates.NewDynamicPool[tasks.Sleep]))
	gen := dynamicContestant("poolgen-dynamic-generated", tasks.NewTimedDynamicPool)
	generic := dynamicContestant("poolgen-dynamic-generic", templates.NewDynamicPool[tasks.Timed])
	latencyExtra = append(latencyExtra, gen, generic)
	for _, c := range []contestant[tasks.Timed]{gen, generic} {
		metricsExtra = append(metricsExtra, struct {
			name string
			run  func(b *testing.B)
		}{trimPoolgen(c.name), func(b *testing.B) {
			for _, s := range metricsSettings {
				cs := c
				start := c.start
				cs.start = func(cfg config) (pool[tasks.Timed], error) {
					cfg.opts = append(cfg.opts[:len(cfg.opts):len(cfg.opts)], s.opts...)
					return start(cfg)
				}
				b.Run("metrics="+s.name, func(b *testing.B) {
					if s.watch {
						defer watch(b)()
					}
					timedThroughput(b, cs, spinRounds(time.Microsecond))
				})
			}
		}})
	}
}

// dynamicPool is what the generated and the generic dynamic pools have in
// common.
type dynamicPool[T any] interface {
	Submit(ctx context.Context, t T) error
	TrySubmit(t T) error
	Shutdown(ctx context.Context) error
	Stats() poolrt.Stats
}

// dynamicContestant makes a contestant of a dynamic pool constructor. The
// adapter calls Submit through the dynamicPool interface: one interface
// call per task, which these workloads (tasks of 20 µs and 1 ms) do not
// resolve.
func dynamicContestant[T task, P dynamicPool[T]](name string, newPool func(opts ...poolrt.Option) (P, error)) contestant[T] {
	return contestant[T]{name: name, start: func(cfg config) (pool[T], error) {
		opts := []poolrt.Option{poolrt.WorkerLimits(1, cfg.workers)}
		if cfg.queue > 0 {
			opts = append(opts, poolrt.QueueSize(cfg.queue))
		}
		p, err := newPool(append(opts, cfg.opts...)...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return &dynamicAdapter[T]{p}, nil
	}}
}

type dynamicAdapter[T task] struct{ p dynamicPool[T] }

func (a *dynamicAdapter[T]) submitN(ctx context.Context, t T, n int) error {
	for range n {
		if err := a.p.Submit(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

func (a *dynamicAdapter[T]) submit(ctx context.Context, t T) error { return a.p.Submit(ctx, t) }

func (a *dynamicAdapter[T]) fork(ctx context.Context, t T) {
	if a.p.TrySubmit(t) != nil {
		_ = t.Run(ctx)
	}
}

func (a *dynamicAdapter[T]) close() error { return a.p.Shutdown(context.Background()) }
