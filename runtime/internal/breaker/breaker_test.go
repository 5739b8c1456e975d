package breaker

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clocked returns a group of policy p on a clock the test moves.
func clocked(p Policy) (*Group, *int64) {
	g := NewGroup(p)
	now := new(int64)
	*now = int64(time.Hour) // not zero: the window's slices start anywhere
	g.Now = func() int64 { return *now }
	return g, now
}

func allow(t *testing.T, b *Breaker) Ticket {
	t.Helper()
	tk, ok := b.Allow()
	require.True(t, ok, "Allow refused")
	return tk
}

func refused(t *testing.T, b *Breaker) {
	t.Helper()
	_, ok := b.Allow()
	require.False(t, ok, "Allow admitted")
}

func state(b *Breaker) State { s, _ := b.State(); return s }

func TestConsecutiveFailuresOpenAtThreshold(t *testing.T) {
	var changes []string
	g, now := clocked(Policy{Failures: 3, Cooldown: time.Second, Probes: 2})
	g.Notify = func(key any, from, to State) { changes = append(changes, fmt.Sprint(from, ">", to)) }
	b := g.One()
	allow(t, b).Record(Failure)
	allow(t, b).Record(Failure)
	allow(t, b).Record(Success) // resets the run
	allow(t, b).Record(Failure)
	allow(t, b).Record(Failure)
	assert.Equal(t, Closed, state(b))
	_, f := b.State()
	assert.Equal(t, 2, f)
	allow(t, b).Record(Failure)
	assert.Equal(t, Open, state(b), "the third failure in a row opens")

	// The cool-down: refused up to its last nanosecond, then half-open.
	*now += int64(time.Second) - 1
	refused(t, b)
	*now++
	p1 := allow(t, b)
	assert.Equal(t, HalfOpen, state(b))
	p2 := allow(t, b)
	refused(t, b) // two probes at a time
	p1.Record(Success)
	assert.Equal(t, Closed, state(b), "a probe's success closes")
	p2.Record(Failure) // a probe of the half-open breaker: old news
	assert.Equal(t, Closed, state(b))
	assert.Equal(t, []string{"closed>open", "open>half-open", "half-open>closed"}, changes)
	s := g.Snapshot()
	assert.Equal(t, [3]uint64{1, 1, 1}, [3]uint64{s.Opens, s.HalfOpens, s.Closes})
}

func TestHalfOpenFailureReopens(t *testing.T) {
	g, now := clocked(Policy{Failures: 1, Cooldown: time.Second, Probes: 1})
	b := g.One()
	allow(t, b).Record(Failure)
	require.Equal(t, Open, state(b))
	*now += int64(time.Second)
	p := allow(t, b)
	refused(t, b)
	*now += int64(10 * time.Second) // a long probe: still one at a time
	refused(t, b)
	p.Record(Failure)
	assert.Equal(t, Open, state(b))
	*now += int64(time.Second) - 1 // the cool-down starts again at the reopening
	refused(t, b)
	*now++
	allow(t, b).Record(Success)
	assert.Equal(t, Closed, state(b))
	s := g.Snapshot()
	assert.Equal(t, [3]uint64{2, 2, 1}, [3]uint64{s.Opens, s.HalfOpens, s.Closes})
}

func TestIgnoredOutcomes(t *testing.T) {
	g, now := clocked(Policy{Failures: 2, Cooldown: time.Second, Probes: 1})
	b := g.One()
	allow(t, b).Record(Failure)
	allow(t, b).Record(Ignored) // neither breaks the run nor extends it
	_, f := b.State()
	assert.Equal(t, 1, f)
	allow(t, b).Record(Failure)
	require.Equal(t, Open, state(b))
	*now += int64(time.Second)
	allow(t, b).Record(Ignored) // a probe that says nothing frees its place
	assert.Equal(t, HalfOpen, state(b))
	allow(t, b).Record(Success)
	assert.Equal(t, Closed, state(b))
}

func TestStaleTicket(t *testing.T) {
	g, _ := clocked(Policy{Failures: 2, Cooldown: time.Second, Probes: 1})
	b := g.One()
	old := allow(t, b)
	allow(t, b).Record(Failure)
	allow(t, b).Record(Failure)
	require.Equal(t, Open, state(b))
	old.Record(Success) // admitted while closed: it must not close the breaker
	assert.Equal(t, Open, state(b))
	Ticket{}.Record(Failure) // no breaker: nothing
}

func TestFailureRateWindow(t *testing.T) {
	g, now := clocked(Policy{Rate: 0.5, MinRequests: 4, Window: 10 * time.Second, Cooldown: time.Second, Probes: 1})
	b := g.One()
	// Three failures: below the minimum count, however high the rate.
	for range 3 {
		allow(t, b).Record(Failure)
	}
	assert.Equal(t, Closed, state(b))
	// They leave the window; then 1 failure in 4 outcomes, then 2 in 5
	// stay under 50%, and 3 in 6 reaches it.
	*now += int64(10 * time.Second)
	for _, o := range []Outcome{Failure, Success, Success, Success} {
		allow(t, b).Record(o)
	}
	assert.Equal(t, Closed, state(b))
	allow(t, b).Record(Failure)
	assert.Equal(t, Closed, state(b), "2 of 5 failed")
	allow(t, b).Record(Failure)
	assert.Equal(t, Open, state(b), "3 of 6 failed")

	// Closing starts a new window.
	*now += int64(time.Second)
	allow(t, b).Record(Success)
	require.Equal(t, Closed, state(b))
	for range 3 {
		allow(t, b).Record(Failure)
	}
	assert.Equal(t, Closed, state(b), "the failures before the opening are forgotten")
	allow(t, b).Record(Failure)
	assert.Equal(t, Open, state(b))
}

func TestWindowSlides(t *testing.T) {
	g, now := clocked(Policy{Rate: 1, MinRequests: 2, Window: 10 * time.Second, Cooldown: time.Second, Probes: 1})
	b := g.One()
	allow(t, b).Record(Failure)
	*now += int64(9 * time.Second)
	allow(t, b).Record(Failure) // the first is 9s old: still in
	assert.Equal(t, Open, state(b))

	g, now = clocked(Policy{Rate: 1, MinRequests: 2, Window: 10 * time.Second, Cooldown: time.Second, Probes: 1})
	b = g.One()
	allow(t, b).Record(Failure)
	*now += int64(11 * time.Second)
	allow(t, b).Record(Failure) // the first has left the window
	assert.Equal(t, Closed, state(b))
}

func TestFailuresOrRate(t *testing.T) {
	// Both triggers: whichever comes first opens.
	g, _ := clocked(Policy{Failures: 3, Rate: 0.9, MinRequests: 100, Window: time.Minute, Cooldown: time.Second, Probes: 1})
	b := g.One()
	for range 3 {
		allow(t, b).Record(Failure)
	}
	assert.Equal(t, Open, state(b))
}

type order struct {
	dep string
	n   int
}

func TestKeyedIsolation(t *testing.T) {
	g, _ := clocked(Policy{Failures: 1, Cooldown: time.Second, Probes: 1, MaxKeys: 8})
	k := NewKeyed(g, func(o order) string { return o.dep })
	a, b := k.Pick(&order{dep: "a"}), k.Pick(&order{dep: "b"})
	require.NotSame(t, a, b)
	assert.Same(t, a, k.Pick(&order{dep: "a", n: 2}))
	allow(t, a).Record(Failure)
	refused(t, a)
	allow(t, b) // b's dependency is fine
	s := g.Snapshot()
	assert.Equal(t, 2, s.Keys)
	assert.Equal(t, 1, s.OpenKeys)
	assert.Equal(t, []KeyState{{Key: "a", State: Open}, {Key: "b", State: Closed}}, s.States)
}

func TestKeyedBound(t *testing.T) {
	g, _ := clocked(Policy{Failures: 1, Cooldown: time.Second, Probes: 1, MaxKeys: 2})
	k := NewKeyed(g, func(n int) int { return n })
	p := func(n int) *Breaker { return k.Pick(&n) }
	b0, b1 := p(0), p(1)
	allow(t, b0).Record(Failure)
	// Full: key 2 takes the place of the closed key 1.
	b2 := p(2)
	assert.NotSame(t, g.One(), b2)
	assert.NotSame(t, b1, p(1), "key 1 was forgotten and made again, in key 2's place")
	assert.Same(t, b0, p(0), "an open breaker is never forgotten")
	s := g.Snapshot()
	assert.Equal(t, 2, s.Keys)
	// Every breaker held open: new keys share the group's own.
	allow(t, p(1)).Record(Failure)
	assert.Same(t, g.One(), p(3))
	assert.Same(t, g.One(), p(4))
	allow(t, p(3)).Record(Failure)
	refused(t, p(4))
	s = g.Snapshot()
	assert.Equal(t, 3, s.OpenKeys)
	assert.Equal(t, []KeyState{{"(other keys)", Open, 0}, {"0", Open, 0}, {"1", Open, 0}}, s.States)
}

func TestKeyPanics(t *testing.T) {
	g, _ := clocked(Policy{Failures: 1, Cooldown: time.Second, Probes: 1, MaxKeys: 2})
	var got []any
	g.KeyPanicked = func(v any) { got = append(got, v) }
	k := NewKeyed(g, func(n int) int {
		if n < 0 {
			panic("negative")
		}
		return n
	})
	n := -1
	assert.Same(t, g.One(), k.Pick(&n))
	assert.Equal(t, []any{"negative"}, got)
	g.KeyPanicked = nil
	assert.Same(t, g.One(), k.Pick(&n)) // contained without a listener too
}

func TestSnapshotBounded(t *testing.T) {
	g, _ := clocked(Policy{Failures: 1, Cooldown: time.Second, Probes: 1, MaxKeys: 100})
	k := NewKeyed(g, func(n int) int { return n })
	for i := range 50 {
		b := k.Pick(&i)
		if i%10 == 0 {
			allow(t, b).Record(Failure)
		}
	}
	s := g.Snapshot()
	assert.Equal(t, 50, s.Keys)
	assert.Equal(t, 5, s.OpenKeys)
	require.Len(t, s.States, MaxStates)
	for i, ks := range s.States[:5] {
		assert.Equal(t, KeyState{Key: fmt.Sprint(i * 10), State: Open}, ks)
	}
	gp, _ := clocked(Policy{Failures: 1, Cooldown: time.Second, Probes: 1})
	assert.Equal(t, []KeyState{{Key: "(pool)", State: Closed}}, gp.Snapshot().States)
	gp.FailedFast()
	assert.Equal(t, uint64(1), gp.Snapshot().FailedFast)
}

func TestStateString(t *testing.T) {
	assert.Equal(t, "closed", Closed.String())
	assert.Equal(t, "open", Open.String())
	assert.Equal(t, "half-open", HalfOpen.String())
	assert.Equal(t, "BreakerState(9)", State(9).String())
}

func TestRealClock(t *testing.T) {
	g := NewGroup(Policy{Failures: 1, Cooldown: time.Millisecond, Probes: 1})
	b := g.One()
	allow(t, b).Record(Failure)
	time.Sleep(2 * time.Millisecond)
	allow(t, b).Record(Success)
	assert.Equal(t, Closed, state(b))
}

// TestConcurrent drives one breaker from many goroutines (run it with
// -race): every change of state is counted once, so an open breaker has
// half-opened once fewer than it opened.
func TestConcurrent(t *testing.T) {
	g := NewGroup(Policy{Failures: 3, Rate: 0.5, MinRequests: 4, Window: time.Second, Cooldown: time.Millisecond, Probes: 2})
	var clock atomic.Int64
	g.Now = func() int64 { return clock.Add(1000) } // a microsecond a read
	b := g.One()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				tk, ok := b.Allow()
				if !ok {
					continue
				}
				tk.Record(Outcome((i + w) % 3))
			}
		})
	}
	wg.Wait()
	s := g.Snapshot()
	st, _ := b.State()
	open := uint64(0)
	if st == Open {
		open = 1
	}
	assert.Positive(t, s.Opens)
	assert.Equal(t, s.Opens-open, s.HalfOpens)
	assert.LessOrEqual(t, s.Closes, s.HalfOpens)
}
