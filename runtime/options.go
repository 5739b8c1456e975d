package poolrt

import (
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"

	"github.com/poolgen/poolgen/internal/testhook"
)

// Pattern names a pool pattern; an [Option] states the patterns it applies to.
type Pattern uint8

// The pool patterns.
const (
	Fixed Pattern = 1 << iota
	Dynamic
	Stealing
	Priority
	Batch
)

var patternNames = [...]string{"fixed", "dynamic", "stealing", "priority", "batch"}

func (p Pattern) String() string {
	var names []string
	for i, n := range patternNames {
		if p&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return fmt.Sprintf("Pattern(%d)", uint8(p))
	}
	return strings.Join(names, "|")
}

const allPatterns = Fixed | Dynamic | Stealing | Priority | Batch

// Backpressure is what Submit does when the queue is full.
type Backpressure uint8

const (
	// Block makes Submit wait for room, until its context is done or the
	// pool shuts down. It is the default.
	Block Backpressure = iota
	// Reject makes Submit return [ErrQueueFull] at once.
	Reject
	// CallerRuns makes Submit run the task on the caller's goroutine, which
	// slows the producer to the pool's pace without queueing more.
	CallerRuns
)

func (b Backpressure) String() string {
	switch b {
	case Block:
		return "Block"
	case Reject:
		return "Reject"
	case CallerRuns:
		return "CallerRuns"
	}
	return fmt.Sprintf("Backpressure(%d)", uint8(b))
}

// Defaults used when an option is not given.
const (
	// DefaultQueuePerWorker sizes the default queue: this many slots per
	// worker, and at least DefaultMinQueue in all. Slots are allocated when
	// the pool is created, sizeof(task)+8 bytes each.
	DefaultQueuePerWorker = 256
	DefaultMinQueue       = 1024
	// DefaultLatencySampling times one task in this many. Counters are
	// always exact; sampling keeps the two clock reads per timed task
	// (~30 ns each on common VMs) off most tasks, and a uniform sample keeps
	// percentiles unbiased.
	DefaultLatencySampling = 16
)

// Limits on option values: beyond them a value is a mistake (or an
// overflow) rather than a configuration.
const (
	MaxWorkers   = 1 << 20
	MaxQueueSize = 1<<31 - 1 // queue positions are int32
)

// Settings is the resolved configuration of a pool: defaults applied, every
// value validated. Pools read it; users build it through [Option]s.
type Settings struct {
	Workers      int
	QueueSize    int
	Backpressure Backpressure
	// Shards is the number of queue shards submissions are spread over:
	// one per worker, at most one per processor (GOMAXPROCS).
	Shards int
	// Metrics enables latency histograms and busy time; counters are kept
	// either way.
	Metrics bool
	// SampleEvery is the latency sampling period (1 = every task).
	SampleEvery int
	OnPanic     func(*PanicError)
	OnError     func(error)

	// Pattern-specific settings, each declared and resolved in the
	// pattern's own file.
	Dynamic  DynamicSettings
	Stealing StealingSettings
	Priority PrioritySettings
	Batch    BatchSettings

	set optionSet
	// hookPanics counts panics in the user's hooks (shared by the copies
	// of the Settings a pool keeps; nil in a zero Settings).
	hookPanics *atomic.Uint64
}

type optionSet uint32

const (
	setWorkers optionSet = 1 << iota
	setQueue
	setLinger
)

// An Option configures a pool. Options are checked by the pool's
// constructor: a value that cannot work, or an option the pattern does not
// use, makes the constructor return a [*ConfigError].
type Option struct {
	text     string
	patterns Pattern
	apply    func(*Settings) (reason string)
}

// String returns the option as it would be written in code, e.g. "Workers(4)".
func (o Option) String() string { return o.text }

// Workers sets the number of worker goroutines (default GOMAXPROCS).
// n must be at least 1.
func Workers(n int) Option {
	return Option{fmt.Sprintf("Workers(%d)", n), Fixed | Stealing | Priority | Batch, func(s *Settings) string {
		if n < 1 {
			return "a pool needs at least 1 worker"
		}
		if n > MaxWorkers {
			return fmt.Sprintf("at most %d workers", MaxWorkers)
		}
		s.Workers, s.set = n, s.set|setWorkers
		return ""
	}}
}

// QueueSize bounds the number of accepted tasks waiting for a worker
// (default max(DefaultMinQueue, DefaultQueuePerWorker×workers)). n must be
// at least 1. The queue's slots are allocated up front.
func QueueSize(n int) Option {
	return Option{fmt.Sprintf("QueueSize(%d)", n), allPatterns, func(s *Settings) string {
		if n < 1 {
			return "the queue needs room for at least 1 task"
		}
		if n > MaxQueueSize {
			return fmt.Sprintf("at most %d slots", MaxQueueSize)
		}
		s.QueueSize, s.set = n, s.set|setQueue
		return ""
	}}
}

// OnFull sets what Submit does when the queue is full (default [Block]).
// TrySubmit never blocks and never runs the task itself: it returns
// [ErrQueueFull] whatever the policy.
func OnFull(b Backpressure) Option {
	return Option{"OnFull(" + b.String() + ")", allPatterns, func(s *Settings) string {
		if b > CallerRuns {
			return "use Block, Reject or CallerRuns"
		}
		s.Backpressure = b
		return ""
	}}
}

// OnPanic sets a handler called, on the worker's goroutine, with every
// recovered task panic. Without one, panics are written to the standard
// logger with their stack. Either way the panic is counted and the worker is
// replaced.
func OnPanic(h func(*PanicError)) Option {
	return Option{"OnPanic(...)", allPatterns, func(s *Settings) string {
		if h == nil {
			return "the handler is nil"
		}
		s.OnPanic = h
		return ""
	}}
}

// OnError sets a handler called, on the worker's goroutine, with every
// non-nil error a task's Run returns. Errors are counted either way.
func OnError(h func(error)) Option {
	return Option{"OnError(...)", allPatterns, func(s *Settings) string {
		if h == nil {
			return "the handler is nil"
		}
		s.OnError = h
		return ""
	}}
}

// Metrics turns latency histograms and utilization on (the default) or off.
// Counters (submitted, completed, failed, ...) are kept either way.
func Metrics(on bool) Option {
	return Option{fmt.Sprintf("Metrics(%t)", on), allPatterns, func(s *Settings) string {
		s.Metrics = on
		return ""
	}}
}

// LatencySampling times one task in every n for the queue-wait and run-time
// histograms (default [DefaultLatencySampling]; 1 times every task).
func LatencySampling(n int) Option {
	return Option{fmt.Sprintf("LatencySampling(%d)", n), allPatterns, func(s *Settings) string {
		if n < 1 {
			return "sample at least every task (1) or turn latency off with Metrics(false)"
		}
		s.SampleEvery = n
		return ""
	}}
}

// Resolve applies opts for a pool of pattern p over defaults and validates
// the result. It is called by pool constructors.
func Resolve(p Pattern, opts []Option) (Settings, error) {
	s := Settings{Metrics: true, SampleEvery: DefaultLatencySampling, hookPanics: new(atomic.Uint64)}
	for _, o := range opts {
		if o.apply == nil {
			return Settings{}, &ConfigError{Option: "Option{}", Reason: "zero Option; build options with the poolrt functions"}
		}
		if o.patterns&p == 0 {
			return Settings{}, &ConfigError{Option: o.text, Reason: "does not apply to the " + p.String() + " pool"}
		}
		if reason := o.apply(&s); reason != "" {
			return Settings{}, &ConfigError{Option: o.text, Reason: reason}
		}
	}
	procs := runtime.GOMAXPROCS(0)
	if s.set&setWorkers == 0 {
		s.Workers = procs
	}
	var err error
	switch p {
	case Dynamic:
		err = s.resolveDynamic(procs)
	case Stealing:
		err = s.resolveStealing(procs)
	case Priority:
		err = s.resolvePriority(procs)
	case Batch:
		err = s.resolveBatch(procs)
	}
	if err != nil {
		return Settings{}, err
	}
	if s.set&setQueue == 0 {
		s.QueueSize = max(DefaultMinQueue, DefaultQueuePerWorker*s.Workers, 2*s.Batch.MaxBatch)
	}
	s.Shards = min(s.Workers, procs, s.QueueSize)
	if testhook.TakeAll.Load() {
		s.Shards = 1 // the pools read the hook too: see poolimpl.takeLimit
	}
	return s, nil
}

// TaskFailed reports a task's non-nil error to the OnError handler, if any.
// A panic in the handler is contained (see [Stats].HookPanics): the task
// stays counted once, as failed.
func (s *Settings) TaskFailed(err error) {
	if s.OnError != nil {
		s.CallHook("OnError", func() { s.OnError(err) })
	}
}

// TaskPanicked reports a recovered panic (value v, nil for runtime.Goexit)
// of task to the OnPanic handler, or through log/slog without one. It
// must be called from the deferred function that recovered, so that the
// stack it captures is the panicking goroutine's. A panic in the handler is
// contained (see [Stats].HookPanics).
func (s *Settings) TaskPanicked(task, v any) {
	if v == nil {
		v = ErrGoexit
	}
	pe := &PanicError{Task: task, Value: v, Stack: debug.Stack()}
	if s.OnPanic != nil {
		s.CallHook("OnPanic", func() { s.OnPanic(pe) })
		return
	}
	slog.Error("poolgen: task panicked", "panic", pe.Value, "task_type", fmt.Sprintf("%T", task), "stack", string(pe.Stack))
}

// HookPanicCount returns the counter of the panics CallHook contained, which
// the pool's Stats report as HookPanics.
func (s *Settings) HookPanicCount() *atomic.Uint64 { return s.hookPanics }

// CallHook calls f, a call of the user's hook name, and contains a panic
// in it: the panic is counted in the pool's HookPanics and logged through
// log/slog with its stack, and the caller goes on. A hook that calls
// runtime.Goexit is counted and logged the same way, but its goroutine
// ends all the same: Goexit cannot be stopped.
func (s *Settings) CallHook(name string, f func()) {
	returned := false
	defer func() {
		if returned {
			return
		}
		v := recover()
		if v == nil {
			v = ErrGoexit
		}
		if s.hookPanics != nil {
			s.hookPanics.Add(1)
		}
		slog.Error("poolgen: hook panicked; the pool goes on", "hook", name, "panic", v, "stack", string(debug.Stack()))
	}()
	f()
	returned = true
}
