package bench

import (
	"context"
	"sync"

	"github.com/poolgen/poolgen/bench/tasks"
)

// The hand-written baselines are written out once per task type, with no
// type parameter, so that they call the task's Run directly (inlinable),
// exactly as hand-written code for one task type would. A generic version
// would call Run through a dictionary and measure something else. Adding a
// task type means adding its pair here.

// chanCap is the queue capacity of the hand-written channel pools.
const chanCap = 1024

// handwrittenTiny and handwrittenSpin1us are the per-type baselines of each
// workload, in the order they appear in the results.
var (
	handwrittenTiny = []contestant[tasks.Tiny]{
		{"chan", startChanTiny},
		{"inline", func(int) (pool[tasks.Tiny], error) { return inlineTiny{}, nil }},
	}
	handwrittenSpin1us = []contestant[tasks.Spin1us]{
		{"chan", startChanSpin1us},
		{"inline", func(int) (pool[tasks.Spin1us], error) { return inlineSpin1us{}, nil }},
	}
)

// chanTiny is the simplest fixed pool a Go programmer writes by hand: a
// buffered chan Tiny drained by n workers.
type chanTiny struct {
	ch chan tasks.Tiny
	wg sync.WaitGroup
}

func startChanTiny(n int) (pool[tasks.Tiny], error) {
	p := &chanTiny{ch: make(chan tasks.Tiny, chanCap)}
	ctx := context.Background()
	p.wg.Add(n)
	for range n {
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

func startChanSpin1us(n int) (pool[tasks.Spin1us], error) {
	p := &chanSpin1us{ch: make(chan tasks.Spin1us, chanCap)}
	ctx := context.Background()
	p.wg.Add(n)
	for range n {
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

func (inlineTiny) close() error { return nil }

// inlineSpin1us is inlineTiny for Spin1us.
type inlineSpin1us struct{}

func (inlineSpin1us) submitN(ctx context.Context, t tasks.Spin1us, n int) error {
	for range n {
		_ = t.Run(ctx)
	}
	return nil
}

func (inlineSpin1us) close() error { return nil }
