package poolrt

import "github.com/poolgen/poolgen/runtime/internal/config"

// PropagateContext passes the values of the context given to Submit or
// SubmitWait on to the task: the context Run gets answers Value from the
// submitter's context first (trace and span IDs, request-scoped values),
// then from the pool's. Everything else about Run's context stays the
// pool's: ShutdownNow still cancels it, a [TaskTimeout] still bounds it,
// [Attempt] still answers, and the submitter's cancellation does not
// reach the task (SubmitWait stops waiting for it, as without the
// option). TrySubmit has no context: its tasks get the pool's values only.
//
// Without the option the submitter's context only bounds the wait for
// room, and a pool costs nothing more per task. With it, each task takes
// a recycled completion handle (as a SubmitWait task does) to carry the
// context through the queue, retries included, and workers reuse one
// context each: no allocation per task in steady state. Run must not
// keep its context after it returns.
//
// Tasks that run on the submitter's goroutine ([CallerRuns]) get a
// context with the same values. A subtask forked in a work-stealing pool
// carries its parent's submitter's context, as if submitted with it,
// wherever Fork puts it. Fixed, dynamic, work-stealing, priority and fair
// pools take the option. Batch pools do not: a batch has many
// submitters, and its handler's context is the pool's; their
// constructor returns a [*ConfigError].
func PropagateContext() Option {
	return config.NewOption("PropagateContext()", propagating, func(s *config.Settings) string {
		return s.SetPropagate(config.PropagateValues)
	})
}

// PropagateDeadline is [PropagateContext] and also bounds each task by
// its submitter's deadline, if the context given to Submit or SubmitWait
// has one: Run's context is canceled at that deadline (or at once, for a
// task that starts after it), as by a [TaskTimeout] that ends then, and a
// task that then returns an error is counted in [Stats].TimedOut with an
// error that wraps context.DeadlineExceeded. With a TaskTimeout too, the
// earlier of the two ends the task. A retried task keeps its submitter's
// deadline across attempts. Like the timeout, it costs no allocation.
func PropagateDeadline() Option {
	return config.NewOption("PropagateDeadline()", propagating, func(s *config.Settings) string {
		return s.SetPropagate(config.PropagateDeadline)
	})
}

// propagating are the patterns that propagate a submitter's context.
const propagating = config.Fixed | config.Dynamic | config.Stealing | config.Priority | config.Fair
