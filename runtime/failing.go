package poolrt

import (
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// TaskTimeout limits the time each task may run to d: the context passed
// to Run (to a batch pool's handler, per batch) is canceled d after the
// task starts, and a task that then returns an error is counted in
// [Stats].TimedOut and reported like any failure (OnError, OnTaskError,
// SubmitWait), with an error that wraps context.DeadlineExceeded
// (errors.Is). A task that returns nil succeeded, however late: a pool
// cannot stop a Run that ignores its context.
//
// A task type with a method
//
//	Timeout() time.Duration
//
// states its own timeout in every pool of it, with or without this
// option: a positive value overrides d for that task; zero or less means
// d (no timeout without the option). Pools read the method once per
// task, as the task starts.
//
// Workers reuse one context each for their tasks, so a timeout costs no
// allocation per task (tasks run on a submitter's goroutine under
// [CallerRuns], and batch handlers, get a context.WithTimeout); Run must
// not keep its context after it returns. d must be positive.
func TaskTimeout(d time.Duration) Option {
	return config.NewOption("TaskTimeout("+d.String()+")", config.AllPatterns, func(s *config.Settings) string {
		if d <= 0 {
			return "a timeout is positive; leave the option out for none"
		}
		s.TaskTimeout = d
		return ""
	})
}
