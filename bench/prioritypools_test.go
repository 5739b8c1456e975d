package bench

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/poolgen/poolgen/bench/tasks"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

var prioAgingFlag = flag.Duration("prio.aging", 50*time.Millisecond, "priority workload: poolrt.Aging period of the aging rows")

func init() {
	var rows []contestant[tasks.Timed]
	for _, impl := range prioImpls() {
		rows = append(rows, impl.contestant("", nil))
	}
	for _, impl := range prioImpls() {
		rows = append(rows, impl.contestant("-aging", []poolrt.Option{poolrt.Aging(*prioAgingFlag)}))
	}
	priorityExtra = append(rows, priorityExtra...)
	metricsExtra = append(metricsExtra, prioMetrics()...)
}

// prioImpls are poolgen's priority pools for tasks.Timed: generated, then
// generic. Their rows are named poolgen-priority-generated and
// poolgen-priority-generic.
func prioImpls() []poolgenImpl[tasks.Timed] {
	return []poolgenImpl[tasks.Timed]{
		{"poolgen-priority-generated", func(opts ...poolrt.Option) (poolgenPool[tasks.Timed], error) {
			p, err := tasks.NewTimedPriorityPool(opts...)
			if err != nil {
				return nil, err
			}
			return &genTimedPrio{p}, nil
		}},
		{"poolgen-priority-generic", func(opts ...poolrt.Option) (poolgenPool[tasks.Timed], error) {
			p, err := templates.NewPriorityPool[tasks.Timed](opts...)
			if err != nil {
				return nil, err
			}
			return &genericPrio[tasks.Timed]{p}, nil
		}},
	}
}

// prioMetrics is the priority pools' part of BenchmarkMetricsCost: one
// submitter, tasks.Timed spinning 1 µs (which also records its start
// time: the same for every setting).
func prioMetrics() []struct {
	name string
	run  func(b *testing.B)
} {
	var out []struct {
		name string
		run  func(b *testing.B)
	}
	for _, impl := range prioImpls() {
		out = append(out, struct {
			name string
			run  func(b *testing.B)
		}{trimPoolgen(impl.name), func(b *testing.B) {
			for _, s := range metricsSettings {
				c := impl.contestant("", s.opts)
				b.Run("metrics="+s.name, func(b *testing.B) {
					if s.watch {
						defer watch(b)()
					}
					timedThroughput(b, c, spinRounds(time.Microsecond))
				})
			}
		}})
	}
	return out
}

// genTimedPrio adapts the generated tasks.TimedPriorityPool.
type genTimedPrio struct{ p *tasks.TimedPriorityPool }

func (a *genTimedPrio) submitN(ctx context.Context, t tasks.Timed, n int) error {
	for range n {
		if err := a.p.Submit(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

func (a *genTimedPrio) submit(ctx context.Context, t tasks.Timed) error { return a.p.Submit(ctx, t) }

func (a *genTimedPrio) fork(ctx context.Context, t tasks.Timed) {
	if a.p.TrySubmit(t) != nil {
		_ = t.Run(ctx)
	}
}

func (a *genTimedPrio) close() error { return a.p.Shutdown(context.Background()) }

func (a *genTimedPrio) stats() poolrt.Stats { return a.p.Stats() }

// genericPrio adapts templates.PriorityPool[T].
type genericPrio[T templates.PriorityTask] struct{ p *templates.PriorityPool[T] }

func (a *genericPrio[T]) submitN(ctx context.Context, t T, n int) error {
	for range n {
		if err := a.p.Submit(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

func (a *genericPrio[T]) submit(ctx context.Context, t T) error { return a.p.Submit(ctx, t) }

func (a *genericPrio[T]) fork(ctx context.Context, t T) {
	if a.p.TrySubmit(t) != nil {
		_ = t.Run(ctx)
	}
}

func (a *genericPrio[T]) close() error { return a.p.Shutdown(context.Background()) }

func (a *genericPrio[T]) stats() poolrt.Stats { return a.p.Stats() }
