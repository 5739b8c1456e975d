// The pools poolgen generates for the benchmark tasks, from
// tasks/tiny_pool.go (committed; go generate ./tasks rewrites it). They
// join both workloads, BenchmarkMetricsCost and TestAllocs.

package bench

import (
	"context"

	"github.com/poolgen/poolgen/bench/tasks"
	poolrt "github.com/poolgen/poolgen/runtime"
)

func init() {
	generatedTiny = append(generatedTiny, poolgenImpl[tasks.Tiny]{"poolgen-generated", startGenTiny})
	generatedSpin1us = append(generatedSpin1us, poolgenImpl[tasks.Spin1us]{"poolgen-generated", startGenSpin1us})
}

// The adapters are written per type, like the pools they wrap, so that the
// submission loop calls the generated Submit directly.

// genTiny adapts tasks.TinyFixedPool.
type genTiny struct{ p *tasks.TinyFixedPool }

func startGenTiny(opts ...poolrt.Option) (poolgenPool[tasks.Tiny], error) {
	p, err := tasks.NewTinyFixedPool(opts...)
	if err != nil {
		return nil, err
	}
	return &genTiny{p}, nil
}

func (a *genTiny) submitN(ctx context.Context, t tasks.Tiny, n int) error {
	for range n {
		if err := a.p.Submit(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

func (a *genTiny) close() error { return a.p.Shutdown(context.Background()) }

func (a *genTiny) stats() poolrt.Stats { return a.p.Stats() }

// genSpin1us adapts tasks.Spin1usFixedPool.
type genSpin1us struct{ p *tasks.Spin1usFixedPool }

func startGenSpin1us(opts ...poolrt.Option) (poolgenPool[tasks.Spin1us], error) {
	p, err := tasks.NewSpin1usFixedPool(opts...)
	if err != nil {
		return nil, err
	}
	return &genSpin1us{p}, nil
}

func (a *genSpin1us) submitN(ctx context.Context, t tasks.Spin1us, n int) error {
	for range n {
		if err := a.p.Submit(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

func (a *genSpin1us) close() error { return a.p.Shutdown(context.Background()) }

func (a *genSpin1us) stats() poolrt.Stats { return a.p.Stats() }
