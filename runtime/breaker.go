package poolrt

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/breaker"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// ErrCircuitOpen is the error of a task that did not run because its
// [Breaker] was open (or half-open with every probe taken): the task was
// dead-lettered ([OnDeadLetter]) and a SubmitWait caller gets this error.
var ErrCircuitOpen = errors.New("poolgen: circuit open")

// BreakerState is the state of a circuit breaker.
type BreakerState = breaker.State

// The states of a circuit breaker: closed lets every task run; open
// lets none, until its cool-down has passed; half-open lets a few run as
// probes of the dependency.
const (
	BreakerClosed   = breaker.Closed
	BreakerOpen     = breaker.Open
	BreakerHalfOpen = breaker.HalfOpen
)

// BreakerPolicy says when a pool's circuit breaker opens and how it
// recovers (see [Breaker]). Give Failures, FailureRate or both.
type BreakerPolicy struct {
	// Failures opens the breaker after this many failures in a row; 0
	// for no such trigger.
	Failures int
	// FailureRate, in (0, 1], opens the breaker when at least this
	// fraction of the outcomes of the last Window failed, once there
	// are MinRequests of them or more; 0 for no such trigger.
	FailureRate float64
	// MinRequests is the least number of outcomes in the window for
	// FailureRate to apply; 0 means 10.
	MinRequests int
	// Window is the span of the sliding window, counted in tenths (an
	// outcome leaves it between 0.9·Window and Window later); 0 means
	// 10s.
	Window time.Duration
	// Cooldown is how long an open breaker stays open before it lets
	// probes through (half-open). Required.
	Cooldown time.Duration
	// Probes is how many tasks a half-open breaker runs at a time; 0
	// means 1. The first probe to succeed closes the breaker; the first
	// to fail opens it again, for another Cooldown.
	Probes int
	// IsFailure, if not nil, says whether a task's error counts against
	// its dependency; an error it excludes (a validation error, say)
	// counts neither way. Errors marked [Permanent] never count: they
	// are the task's fault, not the dependency's. Panics always count.
	// A panic in IsFailure is contained ([Stats].HookPanics) and the
	// error counts.
	IsFailure func(error) bool
	// MaxKeys bounds the breakers of a pool with [BreakerKey]; 0 means
	// 1024. See BreakerKey.
	MaxKeys int
	// Hold makes tasks whose breaker is open wait instead of failing
	// fast: off the workers, in the pool's delay queue (as retries wait,
	// see [Retry]), keeping their queue slot, up to MaxHeld per breaker
	// (past it, they fail fast). A held task asks its breaker again when
	// the cool-down ends, and every tenth of it while the probes run.
	// ShutdownNow returns held tasks with the other unstarted ones;
	// Shutdown lets them ask once more, when their time comes: a task
	// its breaker still refuses then (or any task refused once Shutdown
	// has begun) fails fast. The pools that take [Retry] take Hold; in
	// the priority, deadline, cost and fair pools a held task goes back
	// into the queue as a due retry does.
	Hold bool
	// MaxHeld bounds the tasks held per breaker under Hold; 0 means 128.
	MaxHeld int
	// OnStateChange, if not nil, hears of every change of a breaker's
	// state, with its key (nil for a pool's single breaker). It is
	// called on the worker that caused the change; a panic in it is
	// contained ([Stats].HookPanics).
	OnStateChange func(key any, from, to BreakerState)
}

// Breaker guards the dependency a pool's tasks call with a circuit
// breaker: once p's failure threshold is reached it opens, and tasks
// fail fast instead of calling a dependency that is down. While open, a
// worker that takes a task does not run it: the task is dead-lettered
// with [ErrCircuitOpen] ([OnDeadLetter] where the pool has one, else
// [OnTaskError] or [OnError] if set, else the rate-limited log), a
// SubmitWait caller gets ErrCircuitOpen, and [Stats].DeadLettered and
// Breaker.FailedFast count it. After p.Cooldown the breaker half-opens:
// up to p.Probes tasks run; a success closes it, a failure opens it
// again. A task's outcome counts as its Run returns: nil is a success;
// an error, a timeout or a panic is a failure, unless the error is
// [Permanent] or p.IsFailure excludes it. A task that its breaker turns
// away is not retried ([Retry]).
//
// The check is made as a worker starts a task, so one breaker serves
// the whole pool; with [BreakerKey], one per key. Every pattern takes
// Breaker; a batch pool checks each task of a batch and hands the
// handler those let through. Tasks that run on the submitting goroutine
// (under [CallerRuns], or a work-stealing pool's fork run inline) are
// neither checked nor counted by the breaker. A fair pool charges a
// tenant nothing for its tasks turned away.
func Breaker(p BreakerPolicy) Option {
	text := "Breaker(...)"
	return config.NewOption(text, config.AllPatterns, func(s *config.Settings) string {
		switch {
		case p.Failures < 0:
			return "Failures must not be negative"
		case p.FailureRate < 0 || p.FailureRate > 1:
			return "FailureRate must be in [0, 1]"
		case p.Failures == 0 && p.FailureRate == 0:
			return "give Failures, FailureRate or both: when to open"
		case p.MinRequests < 0 || p.Window < 0:
			return "MinRequests and Window must not be negative"
		case p.FailureRate == 0 && (p.MinRequests != 0 || p.Window != 0):
			return "MinRequests and Window apply to FailureRate, which is not given"
		case p.Window != 0 && p.Window < breaker.Buckets*time.Microsecond:
			return fmt.Sprintf("Window must be at least %v", breaker.Buckets*time.Microsecond)
		case p.Cooldown <= 0:
			return "Cooldown must be positive: how long the breaker stays open"
		case p.Probes < 0 || p.MaxKeys < 0 || p.MaxHeld < 0:
			return "Probes, MaxKeys and MaxHeld must not be negative"
		case p.MaxHeld != 0 && !p.Hold:
			return "MaxHeld applies to Hold, which is not set"
		}
		pol := breaker.Policy{
			Failures: p.Failures, Rate: p.FailureRate, MinRequests: p.MinRequests, Window: p.Window,
			Cooldown: p.Cooldown, Probes: max(p.Probes, 1), MaxKeys: p.MaxKeys, IsFailure: p.IsFailure,
			OnChange: p.OnStateChange, Hold: p.Hold, MaxHeld: p.MaxHeld,
		}
		if pol.Hold && pol.MaxHeld == 0 {
			pol.MaxHeld = 128
		}
		if pol.Rate > 0 {
			if pol.MinRequests == 0 {
				pol.MinRequests = 10
			}
			if pol.Window == 0 {
				pol.Window = 10 * time.Second
			}
		}
		if pol.MaxKeys == 0 {
			pol.MaxKeys = 1024
		}
		s.SetBreaker(pol)
		return ""
	})
}

// BreakerKey gives a pool with a [Breaker] one breaker per key of its
// tasks, key(t), instead of one for the pool: tasks calling a dependency
// that is down fail fast while those calling others run. A method
// expression makes a key function: BreakerKey(Order.Dependency). The
// pool holds up to MaxKeys breakers, each about 200 bytes and its key;
// a new key past them takes the place of a closed breaker (forgetting
// its recent failures), or, when every one held is open or half-open,
// shares one breaker with the other keys past the bound. key is called
// for every task a worker starts: keep it cheap. A panic in it is
// contained ([Stats].HookPanics) and the task uses that shared breaker.
// T is the pool's task type, checked when the pool is created.
func BreakerKey[T any, K comparable](key func(T) K) Option {
	text := fmt.Sprintf("BreakerKey[%v, %v](...)", reflect.TypeFor[T](), reflect.TypeFor[K]())
	return config.NewOption(text, config.AllPatterns, func(s *config.Settings) string {
		if key == nil {
			return "the key function is nil"
		}
		s.Breaker.KeyText = text
		s.Breaker.Key = func(g *breaker.Group) any { return breaker.Picker[T](breaker.NewKeyed(g, key)) }
		return ""
	})
}

// BreakerStats is the circuit breaker section of [Stats] (pools with a
// [Breaker]).
type BreakerStats struct {
	// Opens, HalfOpens and Closes count the changes of state to open,
	// half-open and closed, of all the pool's breakers.
	Opens, HalfOpens, Closes uint64
	// FailedFast counts the tasks that did not run because their breaker
	// was open; they are in DeadLettered too.
	FailedFast uint64
	// Held counts the times a task was held (BreakerPolicy.Hold), and
	// Holding the tasks held now.
	Held    uint64
	Holding int
	// Keys is how many breakers the pool holds (1 without BreakerKey);
	// Open and HalfOpen how many of them are open and half-open now.
	Keys, Open, HalfOpen int
	// States lists up to 32 breakers, those not closed first, then by
	// key; a pool without BreakerKey has one, keyed "(pool)", and in a
	// pool with BreakerKey the breaker the keys past MaxKeys share, if
	// not closed, is keyed "(other keys)".
	States []BreakerKeyState
}

// BreakerKeyState is the state of one breaker: its key (as fmt.Sprint
// writes it), its state and, while closed, its failures in a row.
type BreakerKeyState struct {
	Key      string
	State    BreakerState
	Failures int
}

// String summarizes the section as [Stats.String] prints it: the changes
// of state, the tasks failed fast and held, the breakers and how many are
// open and half-open, and the keys of those not closed.
func (s BreakerStats) String() string {
	var t statsText
	s.write(&t)
	return t.String()
}

func (s *BreakerStats) write(t *statsText) {
	items := []string{"opens " + u64(s.Opens), "half-opens " + u64(s.HalfOpens), "closes " + u64(s.Closes),
		"failed fast " + u64(s.FailedFast)}
	if s.Held > 0 { // shown only under Hold
		items = append(items, "held "+u64(s.Held), "holding "+strconv.Itoa(s.Holding))
	}
	t.line("breaker", items...)
	t.line("", "breakers "+strconv.Itoa(s.Keys), "open "+strconv.Itoa(s.Open), "half-open "+strconv.Itoa(s.HalfOpen))
	var keys []string
	for _, k := range s.States {
		if k.State == BreakerClosed {
			continue
		}
		item := k.Key
		if keys == nil {
			item = "not closed: " + item
		}
		keys = append(keys, item+" ("+k.State.String()+")")
	}
	if keys != nil {
		t.line("", keys...)
	}
}

func (s *BreakerStats) logValue() slog.Value {
	return slog.GroupValue(
		slog.Uint64("opens", s.Opens),
		slog.Uint64("half_opens", s.HalfOpens),
		slog.Uint64("closes", s.Closes),
		slog.Uint64("failed_fast", s.FailedFast),
		slog.Uint64("held", s.Held),
		slog.Int("holding", s.Holding),
		slog.Int("breakers", s.Keys),
		slog.Int("open", s.Open),
		slog.Int("half_open", s.HalfOpen),
	)
}
