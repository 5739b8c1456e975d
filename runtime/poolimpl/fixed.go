package poolimpl

import (
	"context"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// Fixed is the fixed pool's implementation (templates.FixedPool documents
// it): the engine with a size that never changes.
type Fixed[T any] struct {
	e engine[T]
}

// Init starts the pool configured by opts, running tasks through lane, or
// returns a *poolrt.ConfigError and starts nothing.
func (p *Fixed[T]) Init(opts []poolrt.Option, lane Lane[T]) error {
	set, err := config.Resolve(config.Fixed, opts)
	if err != nil {
		return err
	}
	if err := p.e.init(set, config.Fixed, set.Workers, set.Workers, lane); err != nil {
		return err
	}
	p.e.life.List(p.e.meter, p.Stats, nil)
	return nil
}

// Submit is the pool's Submit.
func (p *Fixed[T]) Submit(ctx context.Context, t T) error { return p.e.submit(ctx, t) }

// TrySubmit is the pool's TrySubmit.
func (p *Fixed[T]) TrySubmit(t T) error { return p.e.trySubmit(t) }

// Shutdown is the pool's Shutdown.
func (p *Fixed[T]) Shutdown(ctx context.Context) error { return p.e.shutdown(ctx) }

// ShutdownNow is the pool's ShutdownNow.
func (p *Fixed[T]) ShutdownNow() []T { return p.e.shutdownNow() }

// Stats is the pool's Stats.
func (p *Fixed[T]) Stats() poolrt.Stats { return p.e.stats() }

// SubmitWait is the pool's SubmitWait.
func (p *Fixed[T]) SubmitWait(ctx context.Context, t T) error { return p.e.submitWait(ctx, t) }

// Closed is the pool's Closed.
func (p *Fixed[T]) Closed() bool { return p.e.life.Closed() }
