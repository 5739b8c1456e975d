package poolrt

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// An Option configures a pool. Options are checked by the pool's
// constructor: a value that cannot work, or an option the pattern does not
// use, makes the constructor return a [*ConfigError]. An Option prints as
// it would be written in code, e.g. "Workers(4)".
type Option = config.Option

// Backpressure is what Submit does when the queue is full.
type Backpressure = config.Backpressure

const (
	// Block makes Submit wait for room, until its context is done or the
	// pool shuts down. It is the default.
	Block = config.Block
	// Reject makes Submit return [ErrQueueFull] at once.
	Reject = config.Reject
	// CallerRuns makes Submit run the task on the caller's goroutine, which
	// slows the producer to the pool's pace without queueing more.
	CallerRuns = config.CallerRuns
)

// Workers sets the number of worker goroutines (default GOMAXPROCS).
// n must be at least 1.
func Workers(n int) Option {
	return config.NewOption(fmt.Sprintf("Workers(%d)", n), config.Fixed|config.Stealing|config.Priority|config.Batch|config.Fair, func(s *config.Settings) string {
		if n < 1 {
			return "a pool needs at least 1 worker"
		}
		if n > config.MaxWorkers {
			return fmt.Sprintf("at most %d workers", config.MaxWorkers)
		}
		s.Workers, s.Given = n, s.Given|config.GivenWorkers
		return ""
	})
}

// QueueSize bounds the number of accepted tasks waiting for a worker
// (default 256 per worker, at least 1024). n must be
// at least 1. The queue's slots are allocated up front.
//
// With the default size, a fixed pool's Submit and SubmitWait under the
// default OnFull(Block), without [Shed] or [Retry], also pace their
// caller: while the queue holds one and a half scheduler slices (150 µs)
// of work per worker or more, by the tasks' mean run time (at least 2
// tasks per worker), Submit waits as for a full queue, until a worker
// starts a task. A caller that keeps its CPU busy (a request handler) so
// gives it to the workers while they are behind, as a pool that runs
// each task on a goroutine of its own with a limit does; on a host that
// runs the process's threads on fewer CPUs than it has, it would
// otherwise run on while the queue waits for it. The work left queued
// keeps the workers busy while a paced caller waits for its turn to run.
// At high load it does not pace: while the tasks submitted over the last
// 50 ms or more would keep the workers busy 70% of the time or more, a
// paced caller slow to run again would leave them idle, time they could
// not make up. ctx and shutdown end the wait as they end a wait for
// room, the task not accepted. Pacing stops while no task starts at all, so workers that
// wait for the caller (a gate it opens, a task it submits) hold it up
// once, for a few slices, not at every call. It needs the run times that
// latency metrics sample ([Metrics], [LatencySampling]). Setting
// QueueSize, even to the default, turns pacing off: Submit then waits
// for a full queue only. [Stats].Paced counts the calls that were paced.
//
// A queue of a few tasks per worker makes Submit wait whenever the
// workers are behind at all. At moderate load that shortens the tail a
// little further than pacing does; at high load the waiting submitters
// fall behind their arrivals instead. docs/PERFORMANCE.md ("Pacing the
// submitter", "A queue that blocks the submitter") has the measurements.
func QueueSize(n int) Option {
	return config.NewOption(fmt.Sprintf("QueueSize(%d)", n), config.AllPatterns, func(s *config.Settings) string {
		if n < 1 {
			return "the queue needs room for at least 1 task"
		}
		if n > config.MaxQueueSize {
			return fmt.Sprintf("at most %d slots", config.MaxQueueSize)
		}
		s.QueueSize, s.Given = n, s.Given|config.GivenQueue
		return ""
	})
}

// OnFull sets what Submit does when the queue is full (default [Block]).
// TrySubmit never blocks and never runs the task itself: it returns
// [ErrQueueFull] whatever the policy.
func OnFull(b Backpressure) Option {
	return config.NewOption("OnFull("+b.String()+")", config.AllPatterns, func(s *config.Settings) string {
		if b > CallerRuns {
			return "use Block, Reject or CallerRuns"
		}
		s.Backpressure = b
		return ""
	})
}

// OnPanic sets a handler called, on the worker's goroutine, with every
// recovered task panic. Without one, panics are logged through log/slog
// as errors with the pool's name, pattern, the task's type and the stack,
// at most 10 records a second per pool (the next record written counts
// the ones dropped). Either way the panic is counted and the worker is
// replaced.
func OnPanic(h func(*PanicError)) Option {
	return config.NewOption("OnPanic(...)", config.AllPatterns, func(s *config.Settings) string {
		if h == nil {
			return "the handler is nil"
		}
		s.OnPanic = func(task, v any, stack []byte) { h(&PanicError{Task: task, Value: v, Stack: stack}) }
		return ""
	})
}

// OnError sets a handler called, on the worker's goroutine, with every
// non-nil error a task's Run returns. Without one, errors are logged
// through log/slog as warnings with the pool's name, pattern, the task's
// type and the error, rate-limited as [OnPanic] logs panics. Errors are
// counted either way.
func OnError(h func(error)) Option {
	return config.NewOption("OnError(...)", config.AllPatterns, func(s *config.Settings) string {
		if h == nil {
			return "the handler is nil"
		}
		s.OnError = h
		return ""
	})
}

// OnTaskError sets a handler called, on the worker's goroutine, with
// every task whose Run returns a non-nil error and that error, so that
// the caller can log, store or resubmit the task itself. T is the pool's
// task type (a pointer type for a pool of pointer tasks): a handler of
// another type makes the pool's constructor return a [*ConfigError]. It
// replaces [OnError], which must not be given too. A batch pool calls it
// for each task of a failed batch, with the batch's [*BatchError]; a
// task whose submitter waits for it with SubmitWait reports its error
// there instead.
//
// Options are not generic, so the type is checked when the pool is
// created rather than by the compiler; in return the hook is an option
// like the others, given to any constructor, and generated pools need no
// code for it.
func OnTaskError[T any](h func(t T, err error)) Option {
	return config.NewOption("OnTaskError(...)", config.AllPatterns, func(s *config.Settings) string {
		if h == nil {
			return "the handler is nil"
		}
		s.TaskError = h
		return ""
	})
}

// OnTaskPanic is [OnPanic] with the task typed: it sets a handler called,
// on the worker's goroutine, with every task whose Run panicked (or
// called runtime.Goexit) and the [*PanicError] describing it. T is the
// pool's task type, checked when the pool is created, as for
// [OnTaskError]. It replaces OnPanic, which must not be given too. A
// batch pool calls it for each task of a batch whose handler panicked;
// PanicError.Task then holds the whole batch.
func OnTaskPanic[T any](h func(t T, p *PanicError)) Option {
	return config.NewOption("OnTaskPanic(...)", config.AllPatterns, func(s *config.Settings) string {
		if h == nil {
			return "the handler is nil"
		}
		s.TaskPanic = h
		return ""
	})
}

// Name names the pool, which makes it visible to package poolmon (the live
// page, the history, alerts) and to the exporters built on it, such as
// the Prometheus collector, and labels its workers in profiles and
// execution traces (pprof labels poolgen.pool and poolgen.pattern). Names
// are unique among running pools: a constructor given the name of a pool
// that has not finished shutting down returns a [*ConfigError]. A pool
// leaves the list once its last worker has exited after Shutdown or
// ShutdownNow. The name must be 1 to 128 printable characters, without
// leading or trailing spaces; keep it stable across restarts (a metric's
// series follow it).
func Name(name string) Option {
	return config.NewOption(fmt.Sprintf("Name(%q)", name), config.AllPatterns, func(s *config.Settings) string {
		if reason := badName(name); reason != "" {
			return reason
		}
		s.Name = name
		return ""
	})
}

// badName says what is wrong with a pool's or router's name, or "".
func badName(name string) string {
	switch {
	case name == "" || len(name) > 128:
		return "a name has 1 to 128 bytes"
	case strings.TrimSpace(name) != name:
		return "a name has no leading or trailing spaces"
	case !utf8.ValidString(name) || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return "a name is printable UTF-8 text"
	}
	return ""
}

// Metrics turns latency histograms and utilization on (the default) or off.
// Counters (submitted, completed, failed, ...) are kept either way.
func Metrics(on bool) Option {
	return config.NewOption(fmt.Sprintf("Metrics(%t)", on), config.AllPatterns, func(s *config.Settings) string {
		s.Metrics = on
		return ""
	})
}

// LatencySampling times one task in every n for the queue-wait and run-time
// histograms (default 16; 1 times every task).
func LatencySampling(n int) Option {
	return config.NewOption(fmt.Sprintf("LatencySampling(%d)", n), config.AllPatterns, func(s *config.Settings) string {
		if n < 1 {
			return "sample at least every task (1) or turn latency off with Metrics(false)"
		}
		s.SampleEvery = n
		return ""
	})
}
