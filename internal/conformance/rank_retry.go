package conformance

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// testRankRetryOrder: a due retry goes back into the queue by the rank it
// was submitted with. A low-ranked task fails while better tasks queue
// behind it; it is due again while they still wait (each runs 5 ms, fake
// time, its backoff is at most 10 ms), yet it runs after all of them, and
// before a worse task queued with them. A pool that ran due retries
// ahead of its queue would run it second.
func testRankRetryOrder[T any](t *testing.T, s *rankSuite[T]) {
	bubble(t, func(t *testing.T) {
		const low, good, worse, n = 1, 2, 6, 7 // ids: low, then good..good+3, then worse
		ctl := probe.New(n)
		var mu sync.Mutex
		var order []int // starts, an id per attempt
		started := func(id int) {
			mu.Lock()
			order = append(order, id)
			mu.Unlock()
		}
		fail := make(chan struct{})
		ctl.SetFunc(low, func(ctx context.Context) error {
			started(low)
			if poolrt.Attempt(ctx) == 1 {
				<-fail
				return probe.ErrProbe
			}
			return nil
		})
		for id := good; id <= worse; id++ {
			ctl.SetFunc(id, func(context.Context) error {
				started(id)
				time.Sleep(5 * time.Millisecond)
				return nil
			})
		}
		p := s.start(t, poolrt.Workers(1), poolrt.QueueSize(n),
			poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: 2, Initial: 10 * time.Millisecond, Max: 10 * time.Millisecond}))
		ctx := context.Background()
		require.NoError(t, p.Submit(ctx, s.Ranked(ctl, low, 500)))
		synctest.Wait()
		require.Equal(t, 1, ctl.Runs(low), "the low task runs first, alone")
		for id := good; id < worse; id++ {
			require.NoError(t, p.Submit(ctx, s.Ranked(ctl, id, 10+id)))
		}
		require.NoError(t, p.Submit(ctx, s.Ranked(ctl, worse, 900)))
		close(fail)
		require.NoError(t, p.Shutdown(ctx))
		assert.Equal(t, []int{low, good, good + 1, good + 2, good + 3, low, worse}, order,
			"the retry waits for the better tasks, not for the worse one")
		st := p.Stats()
		assert.Equal(t, uint64(1), st.Retries)
		assert.Equal(t, uint64(1), st.RetrySucceeded)
		assert.Equal(t, uint64(n-1), st.Completed)
		identity(t, st)
	})
}
