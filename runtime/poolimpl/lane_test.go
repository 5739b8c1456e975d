package poolimpl

import (
	"context"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// The tests of this package run task types of their own through the lanes
// package templates would give them.

type runner interface {
	Run(ctx context.Context) error
}

func testLane[T runner]() Lane[T] {
	return Lane[T]{
		Batch: func(w *Worker[T]) {
			ctx := w.Context()
			for t := w.First(); t != nil; {
				t = w.Next((*t).Run(ctx))
			}
		},
		Steal: func(w *StealWorker[T]) {
			ctx := w.Context()
			for t := w.First(); t != nil; {
				t = w.Next((*t).Run(ctx))
			}
		},
		Rank: func(w *RankWorker[T]) {
			ctx := w.Context()
			for t := w.First(); t != nil; {
				t = w.Next((*t).Run(ctx))
			}
		},
		One: func(ctx context.Context, t T) error { return t.Run(ctx) },
	}
}

// StealingPool is the work-stealing pool as the tests use it.
type StealingPool[T runner] = Stealing[T]

// NewStealingPool is templates.NewStealingPool for the tests' task types.
func NewStealingPool[T runner](opts ...poolrt.Option) (*Stealing[T], error) {
	p := new(Stealing[T])
	if err := p.Init(opts, testLane[T]()); err != nil {
		return nil, err
	}
	return p, nil
}

// NewFixedPool is templates.NewFixedPool for the tests' task types.
func NewFixedPool[T runner](opts ...poolrt.Option) (*Fixed[T], error) {
	p := new(Fixed[T])
	if err := p.Init(opts, testLane[T]()); err != nil {
		return nil, err
	}
	return p, nil
}
