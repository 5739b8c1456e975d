package poolimpl

import (
	"context"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// callerContext returns the context for a task its submitter runs
// (CallerRuns) under pool, the pool's context, with what p propagates of
// from, the submitter's, and the function that ends it. Off the workers
// no per-worker context can be reused: with propagation on, this path
// allocates (a carried, and a context.WithDeadline for a deadline).
func callerContext(pool, from context.Context, p config.Propagation) (context.Context, context.CancelFunc) {
	if p == config.PropagateNone {
		return pool, func() {}
	}
	ctx := context.Context(&carried{Context: pool, from: from})
	if dl, ok := from.Deadline(); ok && p == config.PropagateDeadline {
		return context.WithDeadline(ctx, dl)
	}
	return ctx, func() {}
}

// runOnSubmitter runs t on its submitter's goroutine (CallerRuns) under
// pool, the pool's context, with what p propagates of ctx, the
// submitter's: it returns t's outcome if the submitter waits for it,
// else reports it to the hooks and returns nil.
func runOnSubmitter[T any](pool, ctx context.Context, p config.Propagation, t T, wait bool, run func(context.Context, T) error, h *taskHooks[T], m *Meter, tt *timeouts[T]) error {
	cctx, cancel := callerContext(pool, ctx, p)
	defer cancel()
	if !wait {
		RunOnCaller(cctx, t, run, h, m, tt)
		return nil
	}
	return runWaited(cctx, t, run, h, m, tt)
}

// carried is the pool's context answering Value from a submitter's
// context first (poolrt.PropagateContext), for a task run off the
// workers; workers answer the same from their taskCtx.
type carried struct {
	context.Context // the pool's
	from            context.Context
}

// Value answers key from the submitter's context, else from the pool's.
func (c *carried) Value(key any) any {
	if v := c.from.Value(key); v != nil {
		return v
	}
	return c.Context.Value(key)
}
