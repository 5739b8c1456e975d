package poolmon

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// alerts collects what a monitor reports.
type alerts struct {
	mu  sync.Mutex
	got []Alert
}

func (a *alerts) add(x Alert) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, x)
}

// take returns the alerts reported since the last call.
func (a *alerts) take() []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	got := a.got
	a.got = nil
	return got
}

// ruleCase drives a fake pool through intervals that are bad or good for
// one rule.
type ruleCase struct {
	rule      Rule
	bad, good func(f *fake)
	value     float64 // the measure of a bad interval
}

var ruleCases = []ruleCase{
	{
		rule:  WaitP99Above(10 * time.Millisecond),
		bad:   func(f *fake) { f.step(func(st *poolrt.Stats) { st.Wait.Buckets[class(50*time.Millisecond)] += 100 }) },
		good:  func(f *fake) { f.step(func(st *poolrt.Stats) { st.Wait.Buckets[class(time.Millisecond)] += 100 }) },
		value: float64(1024<<15) * (1 + 0.985) / 1e9, // rank 99 of 100 in [33.5ms, 67.1ms)
	},
	{
		rule: Saturation(),
		bad: func(f *fake) {
			f.step(func(st *poolrt.Stats) { st.Workers, st.Busy = 4, 4; st.QueueDepth += 10 })
			f.ran(400, 10*time.Millisecond) // 4s of work in 1s on 4 workers
		},
		good: func(f *fake) {
			f.step(func(st *poolrt.Stats) { st.Workers, st.Busy = 4, 4 }) // busy, but keeping up
			f.ran(400, 10*time.Millisecond)
		},
		value: 1,
	},
	{
		rule: FailureRateAbove(0.1),
		bad: func(f *fake) {
			f.ran(90, time.Millisecond)
			f.step(func(st *poolrt.Stats) { st.Failed += 30; st.Panicked += 10 })
		},
		good:  func(f *fake) { f.ran(100, time.Millisecond) },
		value: 0.4,
	},
	{
		rule: Stuck(),
		bad:  func(f *fake) { f.step(func(st *poolrt.Stats) { st.QueueDepth = 7 }) },
		good: func(f *fake) { // as many queued, but moving
			f.step(func(st *poolrt.Stats) { st.QueueDepth = 7 })
			f.ran(7, time.Millisecond)
		},
		value: 7,
	},
}

func TestRulesFireAndResolve(t *testing.T) {
	for _, c := range ruleCases {
		t.Run(c.rule.Name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := addFake(t, "p", "fixed")
				var got alerts
				m := start(t, Config{Rules: []Rule{c.rule}, OnAlert: got.add, Logger: discard()})
				c.good(f)
				tick(time.Second)
				c.good(f)
				tick(time.Second)
				assert.Empty(t, got.take(), "good intervals")

				begin := time.Now()
				for i := range DefaultFireAfter {
					c.bad(f)
					tick(time.Second)
					if i < DefaultFireAfter-1 {
						assert.Empty(t, got.take(), "bad interval %d: not yet", i+1)
					}
				}
				fired := got.take()
				require.Len(t, fired, 1)
				a := fired[0]
				assert.Equal(t, Alert{Pool: "p", Rule: c.rule.Name, Firing: true, Value: a.Value, Since: begin, At: time.Now()}, a)
				assert.InDelta(t, c.value, a.Value, 1e-8)
				assert.Equal(t, []Alert{a}, m.Alerts())

				c.bad(f) // still bad: nothing new
				tick(time.Second)
				assert.Empty(t, got.take())

				for i := range DefaultResolveAfter {
					c.good(f)
					tick(time.Second)
					if i < DefaultResolveAfter-1 {
						assert.Empty(t, got.take(), "good interval %d: not yet", i+1)
					}
				}
				resolved := got.take()
				require.Len(t, resolved, 1)
				assert.False(t, resolved[0].Firing)
				assert.Equal(t, begin, resolved[0].Since, "the episode's start")
				assert.Equal(t, time.Now(), resolved[0].At)
				assert.Empty(t, m.Alerts())
			})
		})
	}
}

func TestNoFlapping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := addFake(t, "p", "fixed")
		var got alerts
		fail := FailureRateAbove(0.1)
		m := start(t, Config{Rules: []Rule{fail}, OnAlert: got.add, Logger: discard()})
		bad, good := ruleCases[2].bad, ruleCases[2].good
		for i := range 20 { // bad, good, bad, ...: never FireAfter bad in a row
			if i%2 == 0 {
				bad(f)
			} else {
				good(f)
			}
			tick(time.Second)
		}
		assert.Empty(t, got.take(), "an alternating signal does not fire")
		for range 3 {
			bad(f)
			tick(time.Second)
		}
		require.Len(t, got.take(), 1)
		for i := range 20 { // good, bad, good, ...: never ResolveAfter good in a row
			if i%2 == 0 {
				good(f)
			} else {
				bad(f)
			}
			tick(time.Second)
		}
		assert.Empty(t, got.take(), "an alternating signal does not resolve")
		assert.Len(t, m.Alerts(), 1)
	})
}

func TestCustomHysteresis(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := addFake(t, "p", "fixed")
		var got alerts
		r := Stuck()
		r.FireAfter, r.ResolveAfter = 1, 5
		start(t, Config{Rules: []Rule{r}, OnAlert: got.add, Logger: discard()})
		f.step(func(st *poolrt.Stats) { st.QueueDepth = 3 })
		tick(time.Second) // the queue filled in this interval: not stuck yet
		assert.Empty(t, got.take())
		tick(time.Second)
		assert.Len(t, got.take(), 1, "fires on the first bad interval")
		f.step(func(st *poolrt.Stats) { st.QueueDepth = 0 })
		for range 4 {
			tick(time.Second)
		}
		assert.Empty(t, got.take())
		tick(time.Second)
		assert.Len(t, got.take(), 1, "resolves on the fifth good one")
	})
}

func TestCallbackPanicIsContained(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := addFake(t, "p", "fixed")
		var logs syncBuffer
		calls := 0
		m := start(t, Config{
			Rules:   []Rule{{Name: "always", Check: func(Sample) (float64, bool) { return 1, true }, FireAfter: 1}},
			OnAlert: func(Alert) { calls++; panic("boom") },
			Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
		})
		f.ran(1, time.Millisecond)
		tick(time.Second)
		tick(time.Second)
		assert.Equal(t, 1, calls)
		assert.Contains(t, logs.String(), "alert callback panicked")
		assert.Contains(t, logs.String(), "boom")
		assert.Contains(t, logs.String(), "poolgen: pool degraded")
		assert.Len(t, m.History()[0].Samples, 2, "the sampler went on")

		// The pool leaves while its alert fires: resolved, once.
		registry.Remove(registry.All()[0])
		tick(time.Second)
		tick(time.Second)
		assert.Equal(t, 2, calls)
		assert.Contains(t, logs.String(), "poolgen: pool recovered")
		assert.Empty(t, m.Alerts())
	})
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
