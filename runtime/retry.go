package poolrt

import (
	"context"
	"errors"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// Permanent marks err as not worth retrying: a pool with a [Retry]
// policy dead-letters a task that returns it at once. errors.Is and
// errors.As see through the mark. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }

// Unwrap returns the marked error.
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err, or an error it wraps, was marked by
// [Permanent].
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// RetryPolicy says how a pool retries a failed task (see [Retry]).
type RetryPolicy struct {
	// MaxAttempts is how many times a task runs at most, the first
	// included (2 or more).
	MaxAttempts int
	// Initial is the cap of the first retry's delay, and Max that of
	// every delay. Retry n (1-based) waits a random time in
	// [0, min(Max, Initial·Multiplier^(n-1))]: exponential backoff with
	// full jitter.
	Initial, Max time.Duration
	// Multiplier grows the cap from retry to retry; 0 means 2.
	Multiplier float64
	// Retryable, if not nil, decides which errors are worth a retry;
	// errors marked by [Permanent] never are.
	Retryable func(error) bool
}

// Retry makes a pool run a task again, after a backoff delay, when it
// returns an error worth retrying, up to p.MaxAttempts runs in all. A
// waiting task holds no worker: it waits in the pool's delay queue,
// keeping its queue slot, and is queued again when its time comes. A
// task that panics is never retried, nor one run by its submitter under
// [CallerRuns] (if it fails, it has failed for good). A task that fails
// for good is dead-lettered ([OnDeadLetter]).
//
// With Retry, [QueueSize] bounds the tasks accepted and not yet ended
// (queued, running, or waiting to retry), so give it room for the
// workers' tasks too. Shutdown runs the pending retries to their final
// outcome; ShutdownNow returns them with the other unstarted tasks.
//
// Every pool takes Retry. In the fixed and dynamic pools a due retry
// runs before the queued tasks. In the priority, deadline and cost pools
// it goes back into the queue by the rank it was submitted with (its
// priority, aged from its submission, its deadline or its cost), so it
// competes with the queued tasks as any task does and never overtakes a
// better one; in the fair pool it goes back to its tenant's queue, past
// the tenant's TenantQueue limit if need be (it was accepted already),
// and is charged to the tenant as any of its tasks. In a work-stealing
// pool a forked subtask is retried in place, as a submitted task is (its
// parent must not wait for it anyway): it takes a place in QueueSize
// only while it waits to retry, and fails for good at once if none is
// free. In a batch pool the handler's error fails every task of its
// batch; each is retried on its own, with its own attempts, in a later
// batch of its key, and the handler's Attempt is the highest of its
// batch.
func Retry(p RetryPolicy) Option {
	return config.NewOption("Retry(...)", retrying, func(s *config.Settings) string {
		switch {
		case p.MaxAttempts < 2:
			return "MaxAttempts counts the first run too: at least 2 for a retry"
		case p.Initial <= 0 || p.Max < p.Initial:
			return "the delays must satisfy 0 < Initial <= Max"
		case p.Multiplier != 0 && p.Multiplier < 1:
			return "Multiplier must be at least 1 (0 means 2)"
		}
		m := p.Multiplier
		if m == 0 {
			m = 2
		}
		s.Retry = config.RetrySettings{MaxAttempts: p.MaxAttempts, Initial: p.Initial, Max: p.Max, Multiplier: m, Retryable: p.Retryable}
		return ""
	})
}

// OnDeadLetter sets a handler called once with every task that failed
// for good, its last error and how many times it ran: its error was
// [Permanent] or not retryable, or it ran out of attempts; or its
// [Breaker] turned it away ([ErrCircuitOpen], with the runs it had
// before: 0 but for a retry). Without one,
// such tasks are counted ([Stats].DeadLettered) and logged. T is the
// pool's task type, checked when the pool is created. The pools that
// take [Retry] take OnDeadLetter; a batch pool calls it once per task of
// a failed batch, with the handler's error.
func OnDeadLetter[T any](h func(t T, err error, attempts int)) Option {
	return config.NewOption("OnDeadLetter(...)", retrying, func(s *config.Settings) string {
		if h == nil {
			return "the handler is nil"
		}
		s.DeadLetter = h
		return ""
	})
}

// retrying are the pool patterns that take Retry and OnDeadLetter: all.
const retrying = config.AllPatterns

// Attempt returns the attempt number (1 for the first run) of the task
// whose Run was given ctx; 1 in a pool without [Retry]. Given a batch
// handler's context, it returns the highest attempt of the batch's
// tasks.
func Attempt(ctx context.Context) int {
	if n, ok := ctx.Value(config.AttemptKey{}).(int); ok {
		return n
	}
	return 1
}
