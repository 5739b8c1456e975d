package templates

import (
	"context"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// FixedPool runs each T it is given at once, on the caller's goroutine.
// A FixedPool is not safe for concurrent use; NewFixedPool makes one.
type FixedPool[T Task] struct {
	ctx  context.Context
	done int
}

// NewFixedPool returns a FixedPool whose tasks run with ctx.
func NewFixedPool[T Task](ctx context.Context) *FixedPool[T] {
	return &FixedPool[T]{ctx: ctx}
}

// Submit runs t, or returns poolrt.ErrClosed once the pool's context is
// done.
func (p *FixedPool[T]) Submit(t T) error {
	if p.ctx.Err() != nil {
		return poolrt.ErrClosed
	}
	p.done++
	return runOne(p.ctx, t)
}
