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

// StuckTask describes a task that a pool's [Watchdog] found running
// longer than its threshold.
type StuckTask struct {
	Pool    string // the pool's [Name], "" for an unnamed pool
	Pattern string // the pool's pattern: fixed, dynamic, stealing, priority or batch
	// Worker is the worker's slot: 0 to the pool's (maximum) worker
	// count, less one, as in a work-stealing pool's per-worker Stats.
	Worker int
	// Started is when the watchdog first saw the task running: it started
	// at most a quarter of the threshold earlier. Running is how long it
	// has run since then, at least the threshold.
	Started time.Time
	Running time.Duration
}

// Watchdog makes a pool report each task that runs longer than after,
// once, while it still runs: to onStuck, called on the watchdog's own
// goroutine, or, when onStuck is nil, through log/slog as a warning
// (rate-limited, as failures are). [Stats].Stuck counts the workers
// running such a task now, and StuckTasks every one reported, so a hung
// dependency shows before the queue fills. A batch pool's watchdog
// watches its batches; tasks that run on their submitters' goroutines
// under [CallerRuns] are not watched.
//
// The watchdog costs the workers nothing: a goroutine per pool looks, a
// few times per threshold, at what the workers count anyway (whether each
// is busy, how many tasks it has ended), never at a task that Run may be
// writing. So a task is reported between after and 1.5·after from its
// start, and the goroutine ends with the pool's last worker: Shutdown and
// ShutdownNow return once it has, so onStuck is never called after they
// have. after must be at least a millisecond.
func Watchdog(after time.Duration, onStuck func(StuckTask)) Option {
	return config.NewOption("Watchdog("+after.String()+", ...)", config.AllPatterns, func(s *config.Settings) string {
		if after < time.Millisecond {
			return "the threshold must be at least 1ms"
		}
		s.Watchdog.After = after
		s.Watchdog.OnStuck = nil
		if onStuck != nil {
			s.Watchdog.OnStuck = func(pool, pattern string, worker int, started time.Time, running time.Duration) {
				onStuck(StuckTask{Pool: pool, Pattern: pattern, Worker: worker, Started: started, Running: running})
			}
		}
		return ""
	})
}
