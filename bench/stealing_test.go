package bench

import (
	"context"
	"testing"

	"github.com/poolgen/poolgen/bench/tasks"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

func init() {
	var rows []contestant[tasks.Node]
	for _, impl := range stealImpls() {
		rows = append(rows, impl.contestant("", nil))
	}
	forkExtra = append(rows, forkExtra...)
	// Submitted tasks go through the pool's injector: the latency workload
	// shows what that path costs a caller beside the fixed pool's queue.
	for _, impl := range stealTimedImpls() {
		latencyExtra = append(latencyExtra, impl.contestant("", nil))
	}
	for _, impl := range stealImpls() {
		metricsExtra = append(metricsExtra, struct {
			name string
			run  func(b *testing.B)
		}{trimPoolgen(impl.name), func(b *testing.B) {
			for _, s := range metricsSettings {
				c := impl.contestant("", s.opts)
				b.Run("metrics="+s.name, func(b *testing.B) {
					if s.watch {
						defer watch(b)()
					}
					forkJoin(b, c, &tasks.Tree{Skew: 2, LeafRounds: tasks.SpinRounds()}, size().forkSize)
				})
			}
		}})
	}
}

// stealImpls are poolgen's work-stealing pools for tasks.Node: generated,
// then generic. A fork is the pool's Fork, which never blocks.
func stealImpls() []poolgenImpl[tasks.Node] {
	return []poolgenImpl[tasks.Node]{
		{"poolgen-stealing-generated", func(opts ...poolrt.Option) (poolgenPool[tasks.Node], error) {
			p, err := tasks.NewNodeStealingPool(opts...)
			if err != nil {
				return nil, err
			}
			return &genNodeSteal{p}, nil
		}},
		{"poolgen-stealing-generic", func(opts ...poolrt.Option) (poolgenPool[tasks.Node], error) {
			p, err := templates.NewStealingPool[tasks.Node](opts...)
			if err != nil {
				return nil, err
			}
			return &genericSteal[tasks.Node]{p}, nil
		}},
	}
}

// stealTimedImpls are poolgen's work-stealing pools for tasks.Timed:
// generated, then generic.
func stealTimedImpls() []poolgenImpl[tasks.Timed] {
	return []poolgenImpl[tasks.Timed]{
		{"poolgen-stealing-generated", func(opts ...poolrt.Option) (poolgenPool[tasks.Timed], error) {
			p, err := tasks.NewTimedStealingPool(opts...)
			if err != nil {
				return nil, err
			}
			return &genTimedSteal{p}, nil
		}},
		{"poolgen-stealing-generic", func(opts ...poolrt.Option) (poolgenPool[tasks.Timed], error) {
			p, err := templates.NewStealingPool[tasks.Timed](opts...)
			if err != nil {
				return nil, err
			}
			return &genericSteal[tasks.Timed]{p}, nil
		}},
	}
}

// genTimedSteal adapts the generated tasks.TimedStealingPool.
type genTimedSteal struct{ p *tasks.TimedStealingPool }

func (a *genTimedSteal) submitN(ctx context.Context, t tasks.Timed, n int) error {
	for range n {
		if err := a.p.Submit(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

func (a *genTimedSteal) submit(ctx context.Context, t tasks.Timed) error { return a.p.Submit(ctx, t) }

func (a *genTimedSteal) fork(ctx context.Context, t tasks.Timed) { a.p.Fork(ctx, t) }

func (a *genTimedSteal) close() error { return a.p.Shutdown(context.Background()) }

func (a *genTimedSteal) stats() poolrt.Stats { return a.p.Stats() }

// genNodeSteal adapts the generated tasks.NodeStealingPool.
type genNodeSteal struct{ p *tasks.NodeStealingPool }

func (a *genNodeSteal) submitN(ctx context.Context, t tasks.Node, n int) error {
	for range n {
		if err := a.p.Submit(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

func (a *genNodeSteal) submit(ctx context.Context, t tasks.Node) error { return a.p.Submit(ctx, t) }

func (a *genNodeSteal) fork(ctx context.Context, t tasks.Node) { a.p.Fork(ctx, t) }

func (a *genNodeSteal) close() error { return a.p.Shutdown(context.Background()) }

func (a *genNodeSteal) stats() poolrt.Stats { return a.p.Stats() }

// genericSteal adapts templates.StealingPool[T].
type genericSteal[T task] struct{ p *templates.StealingPool[T] }

func (a *genericSteal[T]) submitN(ctx context.Context, t T, n int) error {
	for range n {
		if err := a.p.Submit(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

func (a *genericSteal[T]) submit(ctx context.Context, t T) error { return a.p.Submit(ctx, t) }

func (a *genericSteal[T]) fork(ctx context.Context, t T) { a.p.Fork(ctx, t) }

func (a *genericSteal[T]) close() error { return a.p.Shutdown(context.Background()) }

func (a *genericSteal[T]) stats() poolrt.Stats { return a.p.Stats() }
