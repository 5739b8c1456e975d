package templates_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

var rankCostAging = rankAgingCase{
	newPool: func(opts ...poolrt.Option) (rankPool, error) { return templates.NewCostPool[rankJob](opts...) },
	job: func(dist int64, fn func(context.Context) error) rankJob {
		return rankJob{cost: dist, fn: fn} // the stream costs 0
	},
	lowBand: poolrt.Bands(1), // the expensive band is the one served last
}

// TestCostAgingBound: shortest-job-first starves expensive tasks under a
// stream of cheap ones; with aging an expensive task waits at most
// (cost − cheapest)·every plus the time to run what is queued ahead of it
// (see TestPriorityAgingBound).
func TestCostAgingBound(t *testing.T) { rankAgingBound(t, rankCostAging) }

// TestCostSJF: with the worker busy, the shortest jobs run first, which
// minimizes the mean wait: here, tasks whose cost is their run time in
// milliseconds wait 20 ms on average against 40 ms in submission order.
func TestCostSJF(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ms = time.Millisecond
		p := startRankPool(t, templates.NewCostPool[rankJob], poolrt.Workers(1), poolrt.LatencySampling(1), poolrt.Bands(11))
		ctx := context.Background()
		fn, started, release := rankGate()
		require.NoError(t, p.Submit(ctx, rankJob{cost: 0, fn: fn}))
		<-started
		var order []int64
		for _, cost := range []int64{50, 10, 30, 10, 20} {
			require.NoError(t, p.Submit(ctx, rankJob{cost: cost, fn: func(context.Context) error {
				order = append(order, cost)
				time.Sleep(time.Duration(cost) * ms)
				return nil
			}}))
		}
		release()
		require.NoError(t, p.Shutdown(ctx))
		assert.Equal(t, []int64{10, 10, 20, 30, 50}, order, "run order")
		st := p.Stats()
		// Waits 0, 10, 20, 40, 70 ms (and 0 for the held task).
		assert.Equal(t, (10+20+40+70)*ms/6, st.Wait.Mean, "mean wait")
		ps := st.Priority
		assert.Equal(t, poolrt.ByCost, ps.Kind)
		require.Len(t, ps.Bands, 2)
		assert.Equal(t, uint64(3), ps.Bands[0].Submitted, "cheap band: the held task and the two 10s")
		assert.Equal(t, uint64(3), ps.Bands[1].Submitted, "expensive band")
		assert.Equal(t, 70*ms, ps.LowestMaxWait, "LowestMaxWait: the expensive band's worst wait")
		assert.Equal(t, 70*ms, ps.Bands[1].Wait.Max)
		assert.Equal(t, 10*ms, ps.Bands[0].Wait.Max)
	})
}

// TestCostZeroAllocs: Submit and run of tasks of varied costs, with
// aging, allocate nothing.
func TestCostZeroAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts in -short mode")
	}
	rankZeroAllocs(t, templates.NewCostPool[rankJob], func(i int) rankJob { return rankJob{cost: int64(i % 5)} },
		poolrt.Aging(time.Millisecond))
}
