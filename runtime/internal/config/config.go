package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/poolgen/poolgen/internal/testhook"
)

// Pattern names a pool pattern; an [Option] states the patterns it applies to.
type Pattern uint8

var patternNames = [...]string{"fixed", "dynamic", "stealing", "priority", "batch", "fair"}

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

const AllPatterns = Fixed | Dynamic | Stealing | Priority | Batch | Fair

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
	// Name is the pool's name (poolrt.Name), "" for an unnamed pool.
	Name string
	// Pattern is the pool's pattern, set by Resolve.
	Pattern      Pattern
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
	// OnPanic receives a recovered task panic: the task, the value passed
	// to panic (ErrGoexit for runtime.Goexit) and the stack. The poolrt
	// option that sets it wraps the user's func(*poolrt.PanicError).
	OnPanic func(task, value any, stack []byte)
	OnError func(error)
	// TaskError and TaskPanic are the typed hooks (poolrt.OnTaskError,
	// OnTaskPanic): a func(T, error) and a func(T, *poolrt.PanicError)
	// for the pool's task type T, held as any since options are not
	// generic. The pool checks their type when it is created.
	TaskError any
	TaskPanic any
	// TaskTimeout is the time a task may run (poolrt.TaskTimeout); 0 for
	// no limit.
	TaskTimeout time.Duration
	// Propagate is what of a submitter's context reaches its task's
	// (poolrt.PropagateContext, poolrt.PropagateDeadline).
	Propagate Propagation
	// Retry is the retry policy (poolrt.Retry), and DeadLetter the typed
	// dead-letter handler (poolrt.OnDeadLetter), a func(T, error, int).
	Retry      RetrySettings
	DeadLetter any
	// Watchdog finds tasks that run too long (poolrt.Watchdog).
	Watchdog WatchdogSettings
	// Breaker is the circuit breaker (poolrt.Breaker), declared and
	// resolved in breaker.go.
	Breaker BreakerSettings
	// Shed is the load shedding policy (poolrt.Shed).
	Shed ShedSettings

	// Pattern-specific settings, each declared and resolved in the
	// pattern's own file.
	Dynamic  DynamicSettings
	Stealing StealingSettings
	Priority PrioritySettings
	Batch    BatchSettings
	Fair     FairSettings

	// Given records the options given, for defaults that depend on them.
	Given Given
	// hookPanics counts panics in the user's hooks (shared by the copies
	// of the Settings a pool keeps; nil in a zero Settings).
	hookPanics *atomic.Uint64
	// logged limits the records the pool logs (shared like hookPanics).
	logged *logLimit

	// Worker is what the pool does as each worker starts and ends
	// (poolrt.PinWorkers, poolrt.WorkerResource).
	Worker WorkerSettings
}

// Propagation is what of a submitter's context a pool passes on to the
// task's.
type Propagation uint8

// The propagations.
const (
	PropagateNone     Propagation = iota // only the pool's context
	PropagateValues                      // the submitter's values
	PropagateDeadline                    // its values and its deadline
)

// Given is a set of options given, for defaults that depend on them.
type Given uint32

// The options that Given records.

const (
	GivenWorkers Given = 1 << iota
	GivenQueue
	GivenLinger
	GivenLimits
	GivenCooldown
)

// An Option configures a pool. Options are checked by the pool's
// constructor: a value that cannot work, or an option the pattern does not
// use, makes the constructor return a [*ConfigError].
type Option struct {
	text     string
	patterns Pattern
	apply    func(*Settings) (reason string)
}

// NewOption returns an option written as text in code, for the patterns
// given, that apply sets; apply returns why the option cannot work, or "".
func NewOption(text string, patterns Pattern, apply func(*Settings) (reason string)) Option {
	return Option{text, patterns, apply}
}

// String returns the option as it would be written in code, e.g. "Workers(4)".
func (o Option) String() string { return o.text }

// Resolve applies opts for a pool of pattern p over defaults and validates
// the result. It is called by pool constructors.
func Resolve(p Pattern, opts []Option) (Settings, error) {
	s := Settings{Metrics: true, SampleEvery: DefaultLatencySampling, hookPanics: new(atomic.Uint64), logged: new(logLimit), Pattern: p}
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
	// A failure goes to one hook: with both, which one would be a guess.
	if s.OnError != nil && s.TaskError != nil {
		return Settings{}, &ConfigError{Option: "OnTaskError(...)", Reason: "OnError is given too; give one of them"}
	}
	if s.OnPanic != nil && s.TaskPanic != nil {
		return Settings{}, &ConfigError{Option: "OnTaskPanic(...)", Reason: "OnPanic is given too; give one of them"}
	}
	if err := s.resolveBreaker(); err != nil {
		return Settings{}, err
	}
	procs := runtime.GOMAXPROCS(0)
	if s.Given&GivenWorkers == 0 {
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
	case Fair:
		err = s.resolveFair(procs)
	}
	if err == nil {
		err = s.resolveWorker()
	}
	if err != nil {
		return Settings{}, err
	}
	if err := s.checkShed(); err != nil {
		return Settings{}, err
	}
	if s.Given&GivenQueue == 0 {
		s.QueueSize = max(DefaultMinQueue, DefaultQueuePerWorker*s.Workers, 2*s.Batch.MaxBatch)
	}
	if p == Fair {
		if err := s.resolveTenantQueue(); err != nil {
			return Settings{}, err
		}
	}
	s.Shards = min(s.Workers, procs, s.QueueSize)
	if testhook.TakeAll.Load() {
		s.Shards = 1 // the pools read the hook too: see poolimpl.takeLimit
	}
	return s, nil
}

// TaskFailed reports a task's non-nil error to the OnError handler, or
// through log/slog without one; typ is the type of the task (of the batch
// for a batch handler's error), for the log record, as TaskPanicked
// reports it. A panic in the handler is contained (see [Stats].HookPanics):
// the task stays counted once, as failed.
func (s *Settings) TaskFailed(typ reflect.Type, err error) {
	if s.OnError != nil {
		s.CallHook("OnError", func() { s.OnError(err) })
		return
	}
	s.log(slog.LevelWarn, "poolgen: task failed", typ, "error", err)
}

// TaskPanicked reports a recovered panic (value v, nil for runtime.Goexit)
// of task to the OnPanic handler, or through log/slog without one. It
// must be called from the deferred function that recovered, so that the
// stack it captures is the panicking goroutine's. A panic in the handler is
// contained (see [Stats].HookPanics). It returns the value reported
// (ErrGoexit for runtime.Goexit) and the stack, for a submitter waiting
// for the task's outcome.
func (s *Settings) TaskPanicked(task, v any) (value any, stack []byte) {
	if v == nil {
		v = ErrGoexit
	}
	stack = debug.Stack()
	if s.OnPanic != nil {
		s.CallHook("OnPanic", func() { s.OnPanic(task, v, stack) })
		return v, stack
	}
	s.log(slog.LevelError, "poolgen: task panicked", reflect.TypeOf(task), "panic", v, "stack", string(stack))
	return v, stack
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
		if !returned {
			s.HookPanicked(name, recover())
		}
	}()
	f()
	returned = true
}

// HookPanicked counts and logs a panic, of value v (nil for
// runtime.Goexit), in the user's hook name, as CallHook does; it must be
// called from the deferred function that recovered v.
func (s *Settings) HookPanicked(name string, v any) {
	if v == nil {
		v = ErrGoexit
	}
	if s.hookPanics != nil {
		s.hookPanics.Add(1)
	}
	s.log(slog.LevelError, "poolgen: hook panicked; the pool goes on", nil, "hook", name, "panic", v, "stack", string(debug.Stack()))
}

// Log writes a rate-limited record about the pool through log/slog, as
// its other warnings are.
func (s *Settings) Log(level slog.Level, msg string, args ...any) {
	s.log(level, msg, nil, args...)
}

// ErrGoexit is poolrt.ErrGoexit, the panic value reported for a call of
// runtime.Goexit.
var ErrGoexit = errors.New("poolgen: task called runtime.Goexit")

// ConfigError is poolrt.ConfigError: an option whose value cannot work.
type ConfigError struct {
	// Option is the option as the caller wrote it, for example "Workers(0)".
	Option string
	// Reason says what is wrong and what would be accepted.
	Reason string
}

func (e *ConfigError) Error() string {
	return "poolgen: invalid option " + e.Option + ": " + e.Reason
}

// The pool patterns.
const (
	Fixed Pattern = 1 << iota
	Dynamic
	Stealing
	Priority
	Batch
	Fair
)

// log writes a record through log/slog at level: the pool's name (if it
// has one) and pattern, the task's type typ (task_type, as %T prints it)
// when the record is about a task, then args.
// Records beyond logBurst a second are dropped and counted; the next
// record that is written says how many were ("suppressed"), so that a
// failing dependency, which can fail every task, neither buries the
// service's other logs nor costs more than the tasks.
func (s *Settings) log(level slog.Level, msg string, typ reflect.Type, args ...any) {
	ok, suppressed := s.logged.allow()
	if !ok {
		return
	}
	head := make([]any, 0, 8)
	if s.Name != "" {
		head = append(head, "pool", s.Name)
	}
	head = append(head, "pattern", s.Pattern.String())
	if typ != nil {
		head = append(head, "task_type", typ.String())
	}
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	slog.Log(context.Background(), level, msg, append(head, args...)...)
}

// logBurst is the most records a pool logs per second.
const logBurst = 10

// logLimit counts the records of the current one-second window. It is
// approximate under contention (two windows may overlap by a few
// records), which is all a log needs, and lock-free, since every worker
// may report at once. A nil logLimit allows everything.
type logLimit struct {
	start      atomic.Int64 // the window's start, in Unix nanoseconds
	n          atomic.Int32 // records allowed in the window
	suppressed atomic.Uint64
}

// allow reports whether a record may be written now and, if so, how many
// were dropped since the last one written.
func (l *logLimit) allow() (ok bool, suppressed uint64) {
	if l == nil {
		return true, 0
	}
	now := time.Now().UnixNano()
	if start := l.start.Load(); now-start >= int64(time.Second) && l.start.CompareAndSwap(start, now) {
		l.n.Store(0)
	}
	if l.n.Add(1) > logBurst {
		l.suppressed.Add(1)
		return false, 0
	}
	return true, l.suppressed.Swap(0)
}

// WatchdogSettings is a pool's watchdog (poolrt.Watchdog): After 0 means
// none. OnStuck, if not nil, receives each task found running longer than
// After; the poolrt option wraps the user's func(poolrt.StuckTask).
type WatchdogSettings struct {
	After   time.Duration
	OnStuck func(pool, pattern string, worker int, started time.Time, running time.Duration)
}

// TaskStuck reports a task that worker has run since started, running so
// far: to the OnStuck handler (a panic in it is contained), or through
// log/slog, rate-limited like failures.
func (s *Settings) TaskStuck(worker int, started time.Time, running time.Duration) {
	if f := s.Watchdog.OnStuck; f != nil {
		s.CallHook("Watchdog", func() { f(s.Name, s.Pattern.String(), worker, started, running) })
		return
	}
	s.log(slog.LevelWarn, "poolgen: task running long", nil, "worker", worker, "running", running, "started", started)
}

// SetPropagate records propagation p, and returns why it cannot be given
// with one given before.
func (s *Settings) SetPropagate(p Propagation) string {
	if s.Propagate != PropagateNone && s.Propagate != p {
		return "PropagateContext and PropagateDeadline exclude each other: PropagateDeadline propagates the values too"
	}
	s.Propagate = p
	return ""
}
