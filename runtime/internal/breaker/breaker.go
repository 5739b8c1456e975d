// Package breaker is the circuit breakers' state machine (poolrt.Breaker):
// type-free but for the keyed set, which maps a pool's tasks to their
// dependency's breaker.
package breaker

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// State is poolrt.BreakerState.
type State uint8

// The states of a breaker.
const (
	Closed State = iota
	Open
	HalfOpen
)

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return fmt.Sprintf("BreakerState(%d)", uint8(s))
}

// Outcome is what a task's end says about its dependency.
type Outcome uint8

// The outcomes.
const (
	Success Outcome = iota
	Failure
	Ignored // the task's own fault (poolrt.Permanent, or excluded by IsFailure)
)

// Policy is a resolved poolrt.BreakerPolicy.
type Policy struct {
	Failures    int     // consecutive failures that open; 0: no such trigger
	Rate        float64 // failure rate over Window that opens; 0: no such trigger
	MinRequests int     // outcomes the window must hold for Rate to apply
	Window      time.Duration
	Cooldown    time.Duration
	Probes      int // half-open probes at a time
	MaxKeys     int
	Hold        bool // hold tasks while open (else they fail fast)
	MaxHeld     int  // tasks held per breaker at most
	IsFailure   func(error) bool
	OnChange    func(key any, from, to State)
}

// Buckets is how many slices the sliding window is cut into: it covers
// the last Window, less up to one slice.
const Buckets = 10

// MaxStates bounds the keys a snapshot lists.
const MaxStates = 32

// Group is a pool's breakers: one, or one per key (Keyed), and their
// counters.
type Group struct {
	Policy
	// Now reads the clock in nanoseconds (monotonic); tests replace it.
	Now func() int64
	// Notify, if set, hears of every change of state, after the breaker's
	// lock is released.
	Notify func(key any, from, to State)
	// KeyPanicked, if set, hears of a panic in the key function, with the
	// value recovered (nil for runtime.Goexit); it is called from the
	// deferred function that recovered it.
	KeyPanicked func(v any)

	opens, halfOpens, closes, failedFast, held atomic.Uint64
	one                                        *Breaker
	keys                                       func(out []*Breaker) ([]*Breaker, int)
}

// NewGroup returns the breakers of policy p, one for the pool until a
// keyed set takes over (NewKeyed).
func NewGroup(p Policy) *Group {
	epoch := time.Now()
	g := &Group{Policy: p, Now: func() int64 { return int64(time.Since(epoch)) }}
	g.one = g.newBreaker(nil)
	return g
}

// One returns the pool's breaker (the shared one, in a keyed set: the
// breaker of the keys past MaxKeys).
func (g *Group) One() *Breaker { return g.one }

// FailedFast counts a task that did not run because its breaker was open.
func (g *Group) FailedFast() { g.failedFast.Add(1) }

func (g *Group) newBreaker(key any) *Breaker {
	b := &Breaker{g: g, key: key}
	b.sw.Store(1 << 2) // generation 1, closed: the zero Ticket matches none
	if g.Rate > 0 {
		b.win = new(window)
	}
	return b
}

func (g *Group) changed(key any, from, to State) {
	switch to {
	case Open:
		g.opens.Add(1)
	case HalfOpen:
		g.halfOpens.Add(1)
	case Closed:
		g.closes.Add(1)
	}
	if g.Notify != nil {
		g.Notify(key, from, to)
	}
}

// Breaker is one dependency's breaker. While it is closed, a task's
// start and a success cost atomic loads (and a store after a failure):
// the lock is taken for failures, the window (FailureRate) and the open
// and half-open states.
type Breaker struct {
	g   *Group
	key any

	// sw packs the generation, which changes with every change of state
	// (a task admitted under another ended too late to count), and the
	// state: gen<<2 | state. Changed under mu.
	sw     atomic.Uint64
	consec atomic.Int64 // consecutive failures (closed)
	held   atomic.Int64 // tasks held (Policy.Hold)

	mu     sync.Mutex
	until  int64 // open: when probes may start
	probes int   // half-open: probes admitted and not ended
	win    *window
}

func unpack(sw uint64) (gen uint64, s State) { return sw >> 2, State(sw & 3) }

// Ticket is what Allow gives an admitted task, for Record: the breaker
// and its generation then. The zero Ticket records nothing.
type Ticket struct {
	b   *Breaker
	gen uint64
}

// Allow reports whether a task may run now, and its ticket if so: yes
// while closed; while open, no until the cool-down has passed, when the
// breaker half-opens; while half-open, yes for up to Probes tasks at a
// time.
func (b *Breaker) Allow() (Ticket, bool) {
	if gen, s := unpack(b.sw.Load()); s == Closed {
		return Ticket{b, gen}, true
	}
	b.mu.Lock()
	gen, s := unpack(b.sw.Load())
	switch s {
	case Closed:
		b.mu.Unlock()
		return Ticket{b, gen}, true
	case Open:
		if b.g.Now() < b.until {
			break
		}
		b.setLocked(HalfOpen)
		b.probes = 1
		t := Ticket{b, gen + 1}
		b.mu.Unlock()
		b.g.changed(b.key, Open, HalfOpen)
		return t, true
	case HalfOpen:
		if b.probes < b.g.Probes {
			b.probes++
			b.mu.Unlock()
			return Ticket{b, gen}, true
		}
	}
	b.mu.Unlock()
	return Ticket{}, false
}

// Record ends the task t was given for, with outcome o. Closed, a
// failure opens the breaker once Failures in a row have failed, or once
// the window holds MinRequests outcomes of which a fraction Rate or more
// failed. Half-open, a success closes it and a failure opens it again.
func (t Ticket) Record(o Outcome) {
	b := t.b
	if b == nil {
		return
	}
	if o != Failure {
		// The closed breaker's fast path: a success ends a run of
		// failures and counts in the window, in the slice of now unless
		// it must be started (under the lock); an ignored outcome does
		// nothing.
		gen, s := unpack(b.sw.Load())
		if gen != t.gen || s == Closed && o == Ignored {
			return
		}
		if s == Closed && (b.win == nil || b.win.addCurrent(b.g.Now(), b.g.Window)) {
			if b.consec.Load() != 0 {
				b.consec.Store(0)
			}
			return
		}
	}
	b.mu.Lock()
	gen, from := unpack(b.sw.Load())
	if t.gen != gen {
		b.mu.Unlock()
		return // admitted before the last change: its news is old
	}
	switch from {
	case Closed:
		if o == Ignored {
			break
		}
		var n int64
		if o == Success {
			b.consec.Store(0)
		} else {
			n = b.consec.Add(1)
		}
		tripped := b.g.Failures > 0 && n >= int64(b.g.Failures)
		if w := b.win; w != nil {
			now := b.g.Now()
			w.add(now, b.g.Window, o == Failure)
			if o == Failure && !tripped {
				req, fail := w.totals(now, b.g.Window)
				tripped = req >= b.g.MinRequests && float64(fail) >= b.g.Rate*float64(req)
			}
		}
		if tripped {
			b.openLocked()
		}
	case HalfOpen:
		switch o {
		case Ignored:
			b.probes--
		case Success:
			b.setLocked(Closed)
		case Failure:
			b.openLocked()
		}
	}
	_, to := unpack(b.sw.Load())
	b.mu.Unlock()
	if to != from {
		b.g.changed(b.key, from, to)
	}
}

func (b *Breaker) openLocked() {
	b.setLocked(Open)
	b.until = b.g.Now() + int64(b.g.Cooldown)
}

func (b *Breaker) setLocked(s State) {
	gen, _ := unpack(b.sw.Load())
	b.consec.Store(0)
	b.probes = 0
	if b.win != nil {
		b.win.reset()
	}
	b.sw.Store((gen+1)<<2 | uint64(s))
}

// Breaker returns the breaker of t: the one that admitted the task, or
// refused it (Refused).
func (t Ticket) Breaker() *Breaker { return t.b }

// Refused returns the ticket of a task b refused: it records nothing.
func (b *Breaker) Refused() Ticket { return Ticket{b: b} }

// Hold counts a task held until b lets it through, reporting false, and
// counting nothing, when MaxHeld are held already.
func (b *Breaker) Hold() bool {
	if b.held.Add(1) > int64(b.g.MaxHeld) {
		b.held.Add(-1)
		return false
	}
	b.g.held.Add(1)
	return true
}

// Unhold counts a held task let go: to be looked at again, or handed
// back.
func (b *Breaker) Unhold() { b.held.Add(-1) }

// Wait returns how long a task b refused should wait before it asks
// again: the rest of the cool-down while open, a tenth of it while
// half-open (its probes run).
func (b *Breaker) Wait() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, s := unpack(b.sw.Load()); s == Open {
		if d := time.Duration(b.until - b.g.Now()); d > 0 {
			return d
		}
		return 0
	}
	return b.g.Cooldown / 10
}

// State returns the breaker's state and its consecutive failures.
func (b *Breaker) State() (State, int) {
	_, s := unpack(b.sw.Load())
	return s, int(b.consec.Load())
}

// window counts outcomes in Buckets slices of the last Window: slot i
// holds slice n (n ≡ i mod Buckets, the clock over the slice's width)
// when at[i] == n+1. A slot is started (cleared, then at stored) under
// the breaker's lock; a success is added without it to a slot already
// holding its slice (addCurrent), so that successes, most outcomes, take
// no lock.
type window struct {
	at        [Buckets]atomic.Int64
	req, fail [Buckets]atomic.Int64
}

func slice(now int64, span time.Duration) (n, i int64) {
	n = now / max(1, int64(span)/Buckets)
	return n, n % Buckets
}

// addCurrent counts a success if now's slot holds now's slice, and
// reports whether it did.
func (w *window) addCurrent(now int64, span time.Duration) bool {
	n, i := slice(now, span)
	if w.at[i].Load() != n+1 {
		return false
	}
	w.req[i].Add(1)
	return true
}

// add counts an outcome (b.mu held).
func (w *window) add(now int64, span time.Duration, failed bool) {
	n, i := slice(now, span)
	if w.at[i].Load() != n+1 {
		w.req[i].Store(0)
		w.fail[i].Store(0)
		w.at[i].Store(n + 1)
	}
	w.req[i].Add(1)
	if failed {
		w.fail[i].Add(1)
	}
}

// totals returns the outcomes and failures in the window ending now.
func (w *window) totals(now int64, span time.Duration) (req, fail int) {
	n, _ := slice(now, span)
	for i := range Buckets {
		if at := w.at[i].Load() - 1; at > n-Buckets && at <= n {
			req += int(w.req[i].Load())
			fail += int(w.fail[i].Load())
		}
	}
	return req, fail
}

// reset empties the window (b.mu held).
func (w *window) reset() {
	for i := range Buckets {
		w.at[i].Store(0)
		w.req[i].Store(0)
		w.fail[i].Store(0)
	}
}

// KeyState is one breaker's state in a Snapshot.
type KeyState struct {
	Key      string
	State    State
	Failures int
}

// Snapshot is the group's counters and states.
type Snapshot struct {
	Opens, HalfOpens, Closes, FailedFast, Held uint64
	Keys, OpenKeys, HalfOpenKeys, Holding      int
	States                                     []KeyState
}

// Snapshot returns the group's counters, how many breakers it holds and
// how many are open and half-open, and the states of up to MaxStates of
// them: those not closed first, by key.
func (g *Group) Snapshot() Snapshot {
	s := Snapshot{Opens: g.opens.Load(), HalfOpens: g.halfOpens.Load(), Closes: g.closes.Load(), FailedFast: g.failedFast.Load(), Held: g.held.Load()}
	bs := []*Breaker{g.one}
	if g.keys != nil {
		var n int
		bs, n = g.keys(nil)
		s.Keys = n
		if st, _ := g.one.State(); st != Closed {
			bs = append(bs, g.one) // the keys past MaxKeys
		}
	} else {
		s.Keys = 1
	}
	all := make([]KeyState, 0, len(bs))
	if g.keys != nil {
		s.Holding += int(g.one.held.Load()) // listed only if not closed
	}
	for _, b := range bs {
		if b != g.one || g.keys == nil {
			s.Holding += int(b.held.Load())
		}
		st, f := b.State()
		switch st {
		case Open:
			s.OpenKeys++
		case HalfOpen:
			s.HalfOpenKeys++
		}
		k := "(pool)"
		if b.key != nil {
			k = fmt.Sprint(b.key)
		} else if g.keys != nil {
			k = "(other keys)"
		}
		all = append(all, KeyState{Key: k, State: st, Failures: f})
	}
	slices.SortFunc(all, func(a, b KeyState) int {
		if (a.State == Closed) != (b.State == Closed) {
			if a.State != Closed {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Key, b.Key)
	})
	if len(all) > MaxStates {
		all = all[:MaxStates]
	}
	s.States = all
	return s
}
