package poolimpl

import (
	"log/slog"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/breaker"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// gate is a pool's circuit breaker (poolrt.Breaker) as its workers see
// it: every engine's worker asks admit before it starts a task, records
// the outcome as the task ends (record, or recordPanic), and ends a task
// refused with reject. A nil *gate (no breaker) costs a worker a nil
// check as a task starts and as it ends.
type gate[T any] struct {
	g    *breaker.Group
	pick breaker.Picker[T] // nil: the pool's one breaker
	set  *config.Settings
	dead func(T, error, int) // poolrt.OnDeadLetter, or nil
}

// newGate returns the gate of a pool of T configured by set, nil when it
// has no breaker, or a *poolrt.ConfigError for a key function of another
// task type.
func newGate[T any](set *config.Settings) (*gate[T], error) {
	bs := &set.Breaker
	if bs.Group == nil {
		return nil, nil
	}
	g := &gate[T]{g: bs.Group, set: set}
	if bs.Key != nil {
		p, ok := bs.Key(bs.Group).(breaker.Picker[T])
		if !ok {
			return nil, &poolrt.ConfigError{Option: bs.KeyText, Reason: "the key function takes tasks of another type than the pool's, " + taskName[T]()}
		}
		g.pick = p
	}
	if set.DeadLetter != nil {
		g.dead, _ = set.DeadLetter.(func(T, error, int)) // checked by the pool's retries where it applies
	}
	g.g.Notify = g.changed
	g.g.KeyPanicked = g.keyPanicked
	return g, nil
}

// admit reports whether t may run now; if so *tk is its ticket, for
// record.
func (g *gate[T]) admit(t *T, tk *breaker.Ticket) bool {
	b := g.g.One()
	if g.pick != nil {
		b = g.pick.Pick(t)
	}
	var ok bool
	if *tk, ok = b.Allow(); !ok {
		*tk = b.Refused() // for hold
	}
	return ok
}

// record ends the task admitted with *tk, which returned err, and
// clears *tk.
func (g *gate[T]) record(tk *breaker.Ticket, err error) {
	t := *tk
	*tk = breaker.Ticket{}
	t.Record(g.outcome(err))
}

// recordPanic ends the task admitted with *tk, which panicked: a failure.
func (g *gate[T]) recordPanic(tk *breaker.Ticket) {
	t := *tk
	*tk = breaker.Ticket{}
	t.Record(breaker.Failure)
}

// outcome says what err, a task's error, tells of its dependency.
func (g *gate[T]) outcome(err error) breaker.Outcome {
	switch {
	case err == nil:
		return breaker.Success
	case poolrt.IsPermanent(err):
		return breaker.Ignored
	case g.g.IsFailure != nil:
		failure := true // if IsFailure panics
		g.set.CallHook("BreakerPolicy.IsFailure", func() { failure = g.g.IsFailure(err) })
		if !failure {
			return breaker.Ignored
		}
	}
	return breaker.Failure
}

// reject ends t, with completion handle x (or nil), which ran attempts
// times before and which its breaker turned away: it is dead-lettered
// with poolrt.ErrCircuitOpen (counted in m), its submitter, if waiting,
// gets that error, and the dead-letter handler has it; without one,
// OnTaskError or OnError if set (unless the submitter had the outcome),
// else the log.
func (g *gate[T]) reject(t *T, x *Waiter, attempts int, m *Meter, h *taskHooks[T]) {
	g.report(t, g.refused(x, m), attempts, h)
}

// refused counts a task turned away, tells its submitter, if waiting
// (x not nil), and reports whether it was.
func (g *gate[T]) refused(x *Waiter, m *Meter) (waited bool) {
	m.deadLettered.Add(1)
	g.g.FailedFast()
	return x != nil && x.finish(poolrt.ErrCircuitOpen)
}

// report hands t, a task turned away whose submitter waited for it or
// not, to the dead-letter handler or the other hooks (see reject).
func (g *gate[T]) report(t *T, waited bool, attempts int, h *taskHooks[T]) {
	err := poolrt.ErrCircuitOpen
	switch {
	case g.dead != nil:
		g.set.CallHook("OnDeadLetter", func() { g.dead(*t, err, attempts) })
	case waited:
	case h.onError != nil || g.set.OnError != nil:
		h.failed(t, err)
	default:
		g.set.DeadLettered(*t, err, attempts)
	}
}

// changed logs a change of a breaker's state and calls the user's hook.
func (g *gate[T]) changed(key any, from, to breaker.State) {
	level := slog.LevelInfo
	if to == breaker.Open {
		level = slog.LevelWarn
	}
	g.set.Log(level, "poolgen: circuit breaker "+to.String(), "key", key, "from", from.String())
	if f := g.g.OnChange; f != nil {
		g.set.CallHook("BreakerPolicy.OnStateChange", func() { f(key, from, to) })
	}
}

// keyPanicked reports a panic in the key function, as CallHook would.
func (g *gate[T]) keyPanicked(v any) {
	g.set.HookPanicked("BreakerKey", v)
}

// breakerStats converts a snapshot of the breakers of a pool.
func breakerStats(g *breaker.Group) *poolrt.BreakerStats {
	s := g.Snapshot()
	st := &poolrt.BreakerStats{
		Opens: s.Opens, HalfOpens: s.HalfOpens, Closes: s.Closes, FailedFast: s.FailedFast,
		Held: s.Held, Holding: s.Holding,
		Keys: s.Keys, Open: s.OpenKeys, HalfOpen: s.HalfOpenKeys,
		States: make([]poolrt.BreakerKeyState, len(s.States)),
	}
	for i, k := range s.States {
		st.States[i] = poolrt.BreakerKeyState{Key: k.Key, State: k.State, Failures: k.Failures}
	}
	return st
}
