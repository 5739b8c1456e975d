package poolimpl

import (
	"context"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// Dynamic is the dynamic pool's implementation (templates.DynamicPool
// documents it): the fixed pool's engine with a size that a scaling
// controller (poolrt.Scaler) follows to the load.
type Dynamic[T any] struct {
	e  engine[T]
	sc *Scaler
}

// Init starts the pool configured by opts, running tasks through lane, or
// returns a *poolrt.ConfigError and starts nothing.
func (p *Dynamic[T]) Init(opts []poolrt.Option, lane Lane[T]) error {
	set, err := config.Resolve(config.Dynamic, opts)
	if err != nil {
		return err
	}
	p.e.acts = NewActivities(set.Workers)
	if err := p.e.init(set, config.Dynamic, set.Workers, set.Dynamic.Min, lane); err != nil {
		return err
	}
	p.sc = NewScaler(&p.e.set, p.e.meter, p.e.acts, p.e.q.capacity, p.e.q.len, p.e.resize, p.e.life.Exited())
	p.sc.Start()
	p.e.life.List(p.e.meter, p.Stats, p.SetLimits)
	return nil
}

// Submit is the pool's Submit.
func (p *Dynamic[T]) Submit(ctx context.Context, t T) error {
	err := p.e.submit(ctx, t)
	p.arrived(err)
	return err
}

// TrySubmit is the pool's TrySubmit.
func (p *Dynamic[T]) TrySubmit(t T) error {
	err := p.e.trySubmit(t)
	p.arrived(err)
	return err
}

// SubmitWait is the pool's SubmitWait.
func (p *Dynamic[T]) SubmitWait(ctx context.Context, t T) error {
	x, err := p.e.submitWaited(ctx, t, true)
	if x == nil {
		return err
	}
	p.arrived(nil)
	return x.wait(ctx)
}

// Closed is the pool's Closed.
func (p *Dynamic[T]) Closed() bool { return p.e.life.Closed() }

// arrived starts a worker if an accepted task found the pool without any.
// It reads the size after the task is queued: a controller scaling to zero
// stores the size before it looks at the queue, so one of the two sees the
// other (see engine.mayRetire). If more tasks wait than the pool has
// workers and none of them is idle, it asks the controller to evaluate
// early (Scaler.Surge). While some worker is parked, that costs two atomic
// loads.
func (p *Dynamic[T]) arrived(err error) {
	if err != nil {
		return
	}
	n := int(p.e.target.Load())
	if n == 0 {
		p.sc.Arrived()
		return
	}
	// Waiting tasks are counted as the controller counts them (accepted,
	// not started), so that it goes on while the submitters' reason holds.
	if p.e.sleep.Parked() == 0 && p.sc.Growing() && p.e.q.len() > n {
		p.sc.Surge()
	}
}

// Shutdown is the pool's Shutdown: the controller runs until the queue is
// drained, growing the pool but never shrinking it.
func (p *Dynamic[T]) Shutdown(ctx context.Context) error {
	p.e.stop(Draining)
	p.sc.Drain()
	if err := p.e.life.Wait(ctx); err != nil {
		return err
	}
	p.sc.Close()
	return p.sc.Wait(ctx)
}

// ShutdownNow is the pool's ShutdownNow.
func (p *Dynamic[T]) ShutdownNow() []T {
	p.e.stop(Stopped)
	p.sc.Close()
	out := p.e.shutdownNow()
	p.sc.Wait(context.Background())
	return out
}

// SetLimits is the pool's SetLimits.
func (p *Dynamic[T]) SetLimits(min, max int) error { return p.sc.SetLimits(min, max) }

// Limits is the pool's Limits.
func (p *Dynamic[T]) Limits() (min, max int) { return p.sc.Limits() }

// Size is the pool's Size.
func (p *Dynamic[T]) Size() int { return int(p.e.target.Load()) }

// Stats is the pool's Stats, with its Scaling section.
func (p *Dynamic[T]) Stats() poolrt.Stats {
	st := p.e.stats()
	st.Scaling = p.sc.Stats()
	return st
}
