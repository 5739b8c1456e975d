package conformance

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// The shedding scenario: one worker runs tasks of shedRun, 100 a second,
// while submitters offer one every shedEvery, twice that, for
// shedOffered submissions; then a light load of one every 4·shedRun.
const (
	shedRun     = 10 * time.Millisecond
	shedEvery   = shedRun / 2
	shedOffered = 200
	shedLight   = 20
	shedTarget  = 5 * time.Millisecond
)

var shedPolicy = poolrt.ShedPolicy{Target: shedTarget, Interval: 100 * time.Millisecond}

// testShed: a pool with Shed offered twice what it can run starts
// refusing with ErrOverloaded (Submit under Block and under CallerRuns,
// TrySubmit, SubmitWait), keeps its queue short, runs every task it
// admitted exactly once and none it refused, counts the refusals in Shed
// (not in Submitted, so the accounting identity holds), and admits every
// submission again once the load is light. Bad policies and Shed with
// Metrics(false) are configuration errors.
func testShed[T any](t *testing.T, s *suite[T]) {
	var ce *poolrt.ConfigError
	for _, opts := range [][]poolrt.Option{
		{poolrt.Shed(poolrt.ShedPolicy{Target: -time.Millisecond})},
		{poolrt.Shed(poolrt.ShedPolicy{Interval: -time.Millisecond})},
		{poolrt.Shed(poolrt.ShedPolicy{Target: time.Second, Interval: time.Second})},
		{poolrt.Shed(poolrt.ShedPolicy{Target: 200 * time.Millisecond})}, // above the default interval
		{poolrt.Shed(poolrt.ShedPolicy{}), poolrt.Metrics(false)},
	} {
		p, err := s.New(opts...)
		if assert.ErrorAs(t, err, &ce, "New(%v)", opts) {
			assert.Contains(t, ce.Option, "Shed(", "the option named")
		}
		assert.Nil(t, p, "New(%v) returned a pool", opts)
	}
	for _, policy := range []poolrt.Backpressure{poolrt.Block, poolrt.CallerRuns} {
		t.Run(policy.String(), func(t *testing.T) {
			bubble(t, func(t *testing.T) { shedScenario(t, s, policy) })
		})
	}
}

func shedScenario[T any](t *testing.T, s *suite[T], policy poolrt.Backpressure) {
	n := shedOffered + shedLight + 1
	ctl := probe.New(n)
	for id := range n {
		ctl.SetFunc(id, func(context.Context) error {
			time.Sleep(shedRun)
			return nil
		})
	}
	p := s.start(t, 1, poolrt.QueueSize(1000), poolrt.OnFull(policy), poolrt.LatencySampling(1), poolrt.Shed(shedPolicy))
	admitted, refused := map[int]bool{}, map[int]bool{}
	submit := func(id int) error {
		var err error
		if id%2 == 0 {
			err = p.Submit(context.Background(), s.Task(ctl, id))
		} else {
			err = p.TrySubmit(s.Task(ctl, id))
		}
		switch {
		case err == nil:
			admitted[id] = true
		case errors.Is(err, poolrt.ErrOverloaded):
			refused[id] = true
		default:
			t.Fatalf("submission %d: %v", id, err)
		}
		return err
	}
	shedding, maxDepth, waited := false, 0, false
	for id := range shedOffered {
		synctest.Wait() // the workers are settled: nothing changes but by this goroutine
		if submit(id) != nil && !waited {
			// SubmitWait is refused too, in the same state.
			waited = true
			wid := shedOffered + shedLight
			err := p.SubmitWait(context.Background(), s.Task(ctl, wid))
			assert.ErrorIs(t, err, poolrt.ErrOverloaded, "SubmitWait right after a refused submission")
			if err == nil {
				admitted[wid] = true
			} else {
				refused[wid] = true
			}
		}
		st := p.Stats()
		shedding = shedding || st.Shedding
		if id >= shedOffered/2 { // the backlog of the first interval has drained
			maxDepth = max(maxDepth, st.QueueDepth)
		}
		time.Sleep(shedEvery)
	}
	require.NotEmpty(t, refused, "no submission refused at twice the pool's capacity")
	assert.True(t, shedding, "Stats never reported shedding")
	// While it sheds, the queue holds about target's worth of work: one
	// task here, a few at most, where without shedding it would grow by
	// one every shedRun.
	assert.LessOrEqual(t, maxDepth, 3, "queue depth while shedding")
	// Admitted tasks were about half the offered load: the pool ran at
	// capacity (shedOffered·shedEvery / shedRun tasks), not far below.
	assert.GreaterOrEqual(t, len(admitted), shedOffered*int(shedEvery)/int(shedRun)*9/10, "admitted tasks")
	st := p.Stats()
	assert.Equal(t, uint64(len(refused)), st.Shed, "Shed counts the refusals")
	assert.Equal(t, uint64(len(admitted)), st.Submitted, "Submitted counts the admitted tasks only")
	assert.Zero(t, st.CallerRuns, "a refused task never runs on its submitter")
	assert.Zero(t, st.Rejected, "Rejected")

	// A light load is admitted again, once the backlog has drained.
	time.Sleep(time.Second)
	for id := shedOffered; id < shedOffered+shedLight; id++ {
		assert.NoError(t, submit(id), "submission %d under a light load", id)
		time.Sleep(4 * shedRun)
	}
	assert.False(t, p.Stats().Shedding, "shedding under a light load")

	require.NoError(t, p.Shutdown(context.Background()))
	for id := range n {
		want := 0
		if admitted[id] {
			want = 1
		}
		assert.Equal(t, want, ctl.Runs(id), "runs of task %d (admitted %t, refused %t)", id, admitted[id], refused[id])
	}
	st = p.Stats()
	assert.Equal(t, uint64(len(refused)), st.Shed, "Shed")
	assert.Equal(t, uint64(len(admitted)), st.Submitted, "Submitted")
	identity(t, st)
	assertSettled(t, st)
}

// testRankShed: a priority or cost pool with Shed, offered twice what it
// can run in its band served last, refuses that band while it still
// admits the band served first: right after a low task is refused, a
// high one is admitted, and runs before the queued low ones. Every
// admitted task runs once. (A deadline pool has one band: the contract
// suite's Shed test covers it.)
func testRankShed[T any](t *testing.T, s *rankSuite[T]) {
	var bands poolrt.Option
	switch s.Kind {
	case poolrt.ByPriority: // priority −rank: ranks from 101 up are the band served last
		bands = poolrt.Bands(-100)
	case poolrt.ByCost: // cost rank: ranks from 100 up are the band served last
		bands = poolrt.Bands(100)
	default:
		t.Skip("a deadline pool has one band")
	}
	const low, high = 500, 0
	bubble(t, func(t *testing.T) {
		n := 2 * shedOffered
		ctl := probe.New(n)
		for id := range n {
			ctl.SetFunc(id, func(context.Context) error {
				time.Sleep(shedRun)
				return nil
			})
		}
		p := s.start(t, poolrt.Workers(1), poolrt.QueueSize(1000), bands, poolrt.LatencySampling(1), poolrt.Shed(shedPolicy))
		admitted := map[int]bool{}
		lowRefused, highChecked := 0, 0
		for id := range shedOffered {
			synctest.Wait()
			err := p.TrySubmit(s.Ranked(ctl, id, low))
			switch {
			case err == nil:
				admitted[id] = true
			case errors.Is(err, poolrt.ErrOverloaded):
				if id < shedOffered/2 {
					break // the backlog of the first interval is draining
				}
				if lowRefused++; lowRefused%5 == 1 {
					// In the state that refused a low task, a high one is
					// admitted.
					hid := shedOffered + id
					if assert.NoError(t, p.TrySubmit(s.Ranked(ctl, hid, high)), "a high task right after a low one was refused") {
						admitted[hid] = true
					}
					highChecked++
				}
			default:
				t.Fatalf("submission %d: %v", id, err)
			}
			time.Sleep(shedEvery)
		}
		assert.Positive(t, lowRefused, "low tasks refused once the backlog drained")
		assert.Positive(t, highChecked, "high tasks offered right after a refusal")
		require.NoError(t, p.Shutdown(context.Background()))
		for id := range n {
			want := 0
			if admitted[id] {
				want = 1
			}
			assert.Equal(t, want, ctl.Runs(id), "runs of task %d", id)
		}
		st := p.Stats()
		assert.Equal(t, uint64(len(admitted)), st.Submitted, "Submitted")
		assert.Positive(t, st.Shed, "Shed")
		identity(t, st)
		require.NotNil(t, st.Priority)
		served := st.Priority.Bands[1] // the band served first
		if s.Kind == poolrt.ByCost {
			served = st.Priority.Bands[0]
		}
		assert.Equal(t, uint64(highChecked), served.Submitted, "high tasks queued in the band served first")
	})
}
