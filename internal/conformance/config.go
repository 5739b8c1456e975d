package conformance

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// patternOptions lists the options that only some patterns take. A pool
// must reject the ones that are not for its pattern with a ConfigError and
// accept the others. Add each pattern-specific option here as the runtime
// grows them (MinWorkers, Linger, ...).
var patternOptions = []struct {
	opt     poolrt.Option
	applies Pattern
}{
	{poolrt.Workers(2), Fixed | Stealing | Priority | Batch | Fair},
	{poolrt.WorkerLimits(1, 4), Dynamic},
	{poolrt.ScaleInterval(50 * time.Millisecond), Dynamic},
	{poolrt.Cooldown(time.Second), Dynamic},
	{poolrt.IdleTimeout(time.Minute), Dynamic},
	{poolrt.Thresholds(poolrt.ThresholdPolicy{}), Dynamic},
	{poolrt.Predictive(poolrt.PredictivePolicy{}), Dynamic},
	{poolrt.ScaleWith(poolrt.ThresholdPolicy{}), Dynamic},
	{poolrt.DequeSize(64), Stealing},
	{poolrt.MaxBatch(8), Batch},
	{poolrt.Linger(time.Millisecond), Batch},
	{poolrt.TenantQueueSize(8), Fair},
	{poolrt.TenantWeight(func(int) int { return 2 }), Fair},
	{poolrt.PropagateContext(), propagating},
	{poolrt.PropagateDeadline(), propagating},
}

// testConfigErrors: a bad option, or an option of another pattern, makes the
// constructor return a *poolrt.ConfigError naming the option, and no pool
// and no goroutine.
func testConfigErrors[T any](t *testing.T, s *suite[T]) {
	type badCase struct {
		name string
		opts []poolrt.Option
		// culprits are the options that may be named (any one of them);
		// none means only that some option is named.
		culprits []poolrt.Option
	}
	w := s.workerOpts(2)
	with := func(opts ...poolrt.Option) []poolrt.Option {
		return append(append([]poolrt.Option(nil), w...), opts...)
	}
	cases := []badCase{
		{"Workers(0)", s.workerOpts(0), s.workerOpts(0)},
		{"Workers(-1)", s.workerOpts(-1), s.workerOpts(-1)},
		{"QueueSize(0)", with(poolrt.QueueSize(0)), []poolrt.Option{poolrt.QueueSize(0)}},
		{"QueueSize(-1)", with(poolrt.QueueSize(-1)), []poolrt.Option{poolrt.QueueSize(-1)}},
		{"QueueSize(-1) first", append([]poolrt.Option{poolrt.QueueSize(-1)}, w...), []poolrt.Option{poolrt.QueueSize(-1)}},
		{"OnFull(Backpressure(3))", with(poolrt.OnFull(3)), []poolrt.Option{poolrt.OnFull(3)}},
		{"OnPanic(nil)", with(poolrt.OnPanic(nil)), []poolrt.Option{poolrt.OnPanic(nil)}},
		{"OnError(nil)", with(poolrt.OnError(nil)), []poolrt.Option{poolrt.OnError(nil)}},
		{"LatencySampling(0)", with(poolrt.LatencySampling(0)), []poolrt.Option{poolrt.LatencySampling(0)}},
		{"LatencySampling(-3)", with(poolrt.LatencySampling(-3)), []poolrt.Option{poolrt.LatencySampling(-3)}},
		{"Option{}", with(poolrt.Option{}), nil},
	}
	foreign := 0
	for _, po := range patternOptions {
		if po.applies&s.Pattern == 0 {
			foreign++
			cases = append(cases, badCase{fmt.Sprintf("%v for %v", po.opt, po.applies), []poolrt.Option{po.opt}, []poolrt.Option{po.opt}})
		}
	}
	t.Logf("%d options of other patterns", foreign)

	for _, c := range cases {
		p, err := s.New(c.opts...)
		var ce *poolrt.ConfigError
		if !assert.True(t, errors.As(err, &ce), "%s: New returned %v, want a *poolrt.ConfigError", c.name, err) {
			if p != nil {
				p.ShutdownNow()
			}
			continue
		}
		assert.Nil(t, p, "%s: New returned a pool with its error", c.name)
		assert.NotEmpty(t, ce.Reason, "%s: ConfigError.Reason", c.name)
		assert.NotEmpty(t, ce.Option, "%s: ConfigError.Option", c.name)
		if len(c.culprits) > 0 {
			var names []string
			for _, o := range c.culprits {
				names = append(names, o.String())
			}
			assert.Contains(t, names, ce.Option, "%s: the option named", c.name)
		}
		assert.Contains(t, err.Error(), ce.Option, "%s: the message names the option", c.name)
	}
	goleak.VerifyNone(t) // a constructor that failed started nothing
}

// testDefaults: without options the pool takes the documented defaults
// (GOMAXPROCS workers, or for a dynamic pool 1 to GOMAXPROCS; a queue of
// 256 slots per worker, at least 1024), and it accepts every option that
// applies to its pattern.
func testDefaults[T any](t *testing.T, s *suite[T]) {
	p, err := s.New()
	require.NoError(t, err)
	require.NotNil(t, p)
	st := p.Stats()
	procs := runtime.GOMAXPROCS(0)
	wantWorkers, slots := procs, procs
	if s.Pattern == Dynamic {
		wantWorkers = 1 // it starts at its minimum; its queue is sized for its maximum
	}
	assert.Equal(t, wantWorkers, st.Workers, "default Workers")
	assert.Equal(t, max(1024, 256*slots), st.QueueCap, "default QueueCap")
	assert.Equal(t, st.Workers, st.Busy+st.Idle, "Busy + Idle")
	require.NoError(t, p.Shutdown(context.Background()))

	var rec recorder
	for _, policy := range []poolrt.Backpressure{poolrt.Block, poolrt.Reject, poolrt.CallerRuns} {
		opts := append(s.workerOpts(2), poolrt.QueueSize(8), poolrt.OnFull(policy),
			poolrt.Metrics(false), poolrt.Metrics(true), poolrt.LatencySampling(4))
		opts = append(opts, rec.opts()...)
		p, err := s.New(opts...)
		require.NoError(t, err, "New(%v)", opts)
		st := p.Stats()
		assert.Equal(t, 2, st.Workers, "Workers")
		assert.Equal(t, 8, st.QueueCap, "QueueCap")
		require.NoError(t, p.Shutdown(context.Background()))
	}
	for _, po := range patternOptions {
		if po.applies&s.Pattern != 0 {
			p, err := s.New(po.opt)
			require.NoError(t, err, "New(%v)", po.opt)
			require.NoError(t, p.Shutdown(context.Background()))
		}
	}
}
