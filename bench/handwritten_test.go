package bench

import (
	"context"
	"slices"
	"sync"

	"github.com/poolgen/poolgen/bench/tasks"
)

// The hand-written baselines are written out once per task type, with no
// type parameter, so that they call the task's Run directly (inlinable),
// exactly as hand-written code for one task type would. A generic version
// would call Run through a dictionary and measure something else. Adding a
// task type means adding its pair here.

// handwrittenTiny and handwrittenSpin1us are the per-type baselines of the
// tiny-task workloads, in the order they appear in the results. They
// replace the generic chan contestant of peers (see withHandwritten).
var (
	handwrittenTiny = []contestant[tasks.Tiny]{
		{name: "chan", start: startChanTiny},
		{name: "inline", start: func(config) (pool[tasks.Tiny], error) { return inlineTiny{}, nil }},
	}
	handwrittenSpin1us = []contestant[tasks.Spin1us]{
		{name: "chan", start: startChanSpin1us},
		{name: "inline", start: func(config) (pool[tasks.Spin1us], error) { return inlineSpin1us{}, nil }},
	}
)

// withHandwritten is lineup with the per-type hand-written contestants in
// place of the generic ones of the same name.
func withHandwritten[T task](generated []poolgenImpl[T], handwritten []contestant[T]) []contestant[T] {
	var cs []contestant[T]
	for _, c := range lineup[T](generated, nil) {
		if !slices.ContainsFunc(handwritten, func(h contestant[T]) bool { return h.name == c.name }) {
			cs = append(cs, c)
		}
	}
	return append(cs, handwritten...)
}

// chanTiny is the simplest fixed pool a Go programmer writes by hand: a
// buffered chan Tiny drained by n workers.
type chanTiny struct {
	ch chan tasks.Tiny
	wg sync.WaitGroup
}

func startChanTiny(cfg config) (pool[tasks.Tiny], error) {
	p := &chanTiny{ch: make(chan tasks.Tiny, max(cfg.queue, chanCap))}
	ctx := context.Background()
	p.wg.Add(cfg.workers)
	for range cfg.workers {
		go func() {
			defer p.wg.Done()
			for t := range p.ch {
				_ = t.Run(ctx)
			}
		}()
	}
	return p, nil
}

func (p *chanTiny) submitN(ctx context.Context, t tasks.Tiny, n int) error {
	for range n {
		p.ch <- t
	}
	return nil
}

func (p *chanTiny) submit(ctx context.Context, t tasks.Tiny) error {
	p.ch <- t
	return nil
}

func (p *chanTiny) close() error {
	close(p.ch)
	p.wg.Wait()
	return nil
}

// chanSpin1us is chanTiny for Spin1us.
type chanSpin1us struct {
	ch chan tasks.Spin1us
	wg sync.WaitGroup
}

func startChanSpin1us(cfg config) (pool[tasks.Spin1us], error) {
	p := &chanSpin1us{ch: make(chan tasks.Spin1us, max(cfg.queue, chanCap))}
	ctx := context.Background()
	p.wg.Add(cfg.workers)
	for range cfg.workers {
		go func() {
			defer p.wg.Done()
			for t := range p.ch {
				_ = t.Run(ctx)
			}
		}()
	}
	return p, nil
}

func (p *chanSpin1us) submitN(ctx context.Context, t tasks.Spin1us, n int) error {
	for range n {
		p.ch <- t
	}
	return nil
}

func (p *chanSpin1us) submit(ctx context.Context, t tasks.Spin1us) error {
	p.ch <- t
	return nil
}

func (p *chanSpin1us) close() error {
	close(p.ch)
	p.wg.Wait()
	return nil
}

// inlineTiny runs every task on the submitting goroutine: no pool, no
// parallelism. It is the floor that a pool's overhead is measured from.
type inlineTiny struct{}

func (inlineTiny) submitN(ctx context.Context, t tasks.Tiny, n int) error {
	for range n {
		_ = t.Run(ctx)
	}
	return nil
}

func (inlineTiny) submit(ctx context.Context, t tasks.Tiny) error { return t.Run(ctx) }

func (inlineTiny) close() error { return nil }

// inlineSpin1us is inlineTiny for Spin1us.
type inlineSpin1us struct{}

func (inlineSpin1us) submitN(ctx context.Context, t tasks.Spin1us, n int) error {
	for range n {
		_ = t.Run(ctx)
	}
	return nil
}

func (inlineSpin1us) submit(ctx context.Context, t tasks.Spin1us) error { return t.Run(ctx) }

func (inlineSpin1us) close() error { return nil }
