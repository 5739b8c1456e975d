// The fixed pools poolgen generates for the benchmark tasks, from
// tasks/tiny_pool.go and tasks/workloads_pool.go (committed; go generate
// ./tasks rewrites them). The adapters are written per type, like the
// pools they wrap, so that the submission loop calls the generated Submit
// directly. The batch pool's adapter is in batch_test.go.

package bench

import (
	"context"

	"github.com/poolgen/poolgen/bench/tasks"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// Generated fixed pools, one list per task type; the other patterns add
// theirs in their own files.
var (
	generatedTiny      = []poolgenImpl[tasks.Tiny]{{"poolgen-generated", startGenTiny}}
	generatedSpin1us   = []poolgenImpl[tasks.Spin1us]{{"poolgen-generated", startGenSpin1us}}
	generatedSleep     = []poolgenImpl[tasks.Sleep]{{"poolgen-generated", startGenSleep}}
	generatedPayload32 = []poolgenImpl[tasks.Payload32]{{"poolgen-generated", startGenPayload32}}
	generatedNode      = []poolgenImpl[tasks.Node]{{"poolgen-generated", startGenNode}}
	generatedTimed     = []poolgenImpl[tasks.Timed]{{"poolgen-generated", startGenTimed}}
)

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

func (a *genTiny) submit(ctx context.Context, t tasks.Tiny) error { return a.p.Submit(ctx, t) }

func (a *genTiny) fork(ctx context.Context, t tasks.Tiny) {
	if a.p.TrySubmit(t) != nil {
		_ = t.Run(ctx)
	}
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

func (a *genSpin1us) submit(ctx context.Context, t tasks.Spin1us) error { return a.p.Submit(ctx, t) }

func (a *genSpin1us) fork(ctx context.Context, t tasks.Spin1us) {
	if a.p.TrySubmit(t) != nil {
		_ = t.Run(ctx)
	}
}

func (a *genSpin1us) close() error { return a.p.Shutdown(context.Background()) }

func (a *genSpin1us) stats() poolrt.Stats { return a.p.Stats() }

// genSleep adapts tasks.SleepFixedPool.
type genSleep struct{ p *tasks.SleepFixedPool }

func startGenSleep(opts ...poolrt.Option) (poolgenPool[tasks.Sleep], error) {
	p, err := tasks.NewSleepFixedPool(opts...)
	if err != nil {
		return nil, err
	}
	return &genSleep{p}, nil
}

func (a *genSleep) submitN(ctx context.Context, t tasks.Sleep, n int) error {
	for range n {
		if err := a.p.Submit(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

func (a *genSleep) submit(ctx context.Context, t tasks.Sleep) error { return a.p.Submit(ctx, t) }

func (a *genSleep) fork(ctx context.Context, t tasks.Sleep) {
	if a.p.TrySubmit(t) != nil {
		_ = t.Run(ctx)
	}
}

func (a *genSleep) close() error { return a.p.Shutdown(context.Background()) }

func (a *genSleep) stats() poolrt.Stats { return a.p.Stats() }

// genPayload32 adapts tasks.Payload32FixedPool.
type genPayload32 struct{ p *tasks.Payload32FixedPool }

func startGenPayload32(opts ...poolrt.Option) (poolgenPool[tasks.Payload32], error) {
	p, err := tasks.NewPayload32FixedPool(opts...)
	if err != nil {
		return nil, err
	}
	return &genPayload32{p}, nil
}

func (a *genPayload32) submitN(ctx context.Context, t tasks.Payload32, n int) error {
	for range n {
		if err := a.p.Submit(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

func (a *genPayload32) submit(ctx context.Context, t tasks.Payload32) error {
	return a.p.Submit(ctx, t)
}

func (a *genPayload32) fork(ctx context.Context, t tasks.Payload32) {
	if a.p.TrySubmit(t) != nil {
		_ = t.Run(ctx)
	}
}

func (a *genPayload32) close() error { return a.p.Shutdown(context.Background()) }

func (a *genPayload32) stats() poolrt.Stats { return a.p.Stats() }

// genNode adapts tasks.NodeFixedPool.
type genNode struct{ p *tasks.NodeFixedPool }

func startGenNode(opts ...poolrt.Option) (poolgenPool[tasks.Node], error) {
	p, err := tasks.NewNodeFixedPool(opts...)
	if err != nil {
		return nil, err
	}
	return &genNode{p}, nil
}

func (a *genNode) submitN(ctx context.Context, t tasks.Node, n int) error {
	for range n {
		if err := a.p.Submit(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

func (a *genNode) submit(ctx context.Context, t tasks.Node) error { return a.p.Submit(ctx, t) }

func (a *genNode) fork(ctx context.Context, t tasks.Node) {
	if a.p.TrySubmit(t) != nil {
		_ = t.Run(ctx)
	}
}

func (a *genNode) close() error { return a.p.Shutdown(context.Background()) }

func (a *genNode) stats() poolrt.Stats { return a.p.Stats() }

// genTimed adapts tasks.TimedFixedPool.
type genTimed struct{ p *tasks.TimedFixedPool }

func startGenTimed(opts ...poolrt.Option) (poolgenPool[tasks.Timed], error) {
	p, err := tasks.NewTimedFixedPool(opts...)
	if err != nil {
		return nil, err
	}
	return &genTimed{p}, nil
}

func (a *genTimed) submitN(ctx context.Context, t tasks.Timed, n int) error {
	for range n {
		if err := a.p.Submit(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

func (a *genTimed) submit(ctx context.Context, t tasks.Timed) error { return a.p.Submit(ctx, t) }

func (a *genTimed) fork(ctx context.Context, t tasks.Timed) {
	if a.p.TrySubmit(t) != nil {
		_ = t.Run(ctx)
	}
}

func (a *genTimed) close() error { return a.p.Shutdown(context.Background()) }

func (a *genTimed) stats() poolrt.Stats { return a.p.Stats() }
