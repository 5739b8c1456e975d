package templates_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolmon"
	"github.com/poolgen/poolgen/templates"
)

// lane is a task routed by its class; run, if set, is its body.
type lane struct {
	class string
	run   func(ctx context.Context) error
}

func (l lane) Run(ctx context.Context) error {
	if l.run != nil {
		return l.run(ctx)
	}
	return nil
}

func (l lane) Class() string { return l.class }

// ptrLane is a pointer task routed by its class.
type ptrLane struct{ class string }

func (*ptrLane) Run(context.Context) error { return nil }
func (l *ptrLane) Class() string           { return l.class }

func fixed(t *testing.T, opts ...poolrt.Option) *templates.FixedPool[lane] {
	t.Helper()
	p, err := templates.NewFixedPool[lane](opts...)
	require.NoError(t, err)
	return p
}

func dynamic(t *testing.T, min, max int) *templates.DynamicPool[lane] {
	t.Helper()
	p, err := templates.NewDynamicPool[lane](poolrt.WorkerLimits(min, max), poolrt.ScaleInterval(5*time.Millisecond))
	require.NoError(t, err)
	return p
}

type routes = []templates.RouterClass[lane, string]

func TestRouterConfigErrors(t *testing.T) {
	cases := []struct {
		name   string
		routes func(t *testing.T) routes
		opts   []poolrt.RouterOption
		want   string
	}{
		{"no routes", func(*testing.T) routes { return nil }, nil, "at least one route"},
		{"nil pool", func(t *testing.T) routes { return routes{{Class: "a"}} }, nil, "no pool"},
		{"typed nil pool", func(t *testing.T) routes {
			return routes{{Class: "a", Pool: (*templates.FixedPool[lane])(nil)}}
		}, nil, "no pool"},
		{"same class", func(t *testing.T) routes {
			return routes{{Class: "a", Pool: fixed(t)}, {Class: "a", Pool: fixed(t)}}
		}, nil, "route 0 has the same class"},
		{"same pool", func(t *testing.T) routes {
			p := fixed(t)
			return routes{{Class: "a", Pool: p}, {Class: "b", Pool: p}}
		}, nil, "route 0 has the same pool"},
		{"two defaults", func(t *testing.T) routes {
			return routes{{Class: "a", Pool: fixed(t), Default: true}, {Class: "b", Pool: fixed(t), Default: true}}
		}, nil, "at most one"},
		{"negative min", func(t *testing.T) routes { return routes{{Class: "a", Pool: dynamic(t, 1, 2), Min: -1}} },
			[]poolrt.RouterOption{poolrt.Lend(2)}, "Min is -1"},
		{"min above max", func(t *testing.T) routes { return routes{{Class: "a", Pool: dynamic(t, 1, 2), Min: 3}} },
			[]poolrt.RouterOption{poolrt.Lend(4)}, "above the 2 workers"},
		{"min of a fixed pool", func(t *testing.T) routes { return routes{{Class: "a", Pool: fixed(t), Min: 1}} },
			nil, "Min applies only"},
		{"closed pool", func(t *testing.T) routes {
			p := fixed(t)
			p.ShutdownNow()
			return routes{{Class: "a", Pool: p}}
		}, nil, "shut down"},
		{"lend without dynamic", func(t *testing.T) routes { return routes{{Class: "a", Pool: fixed(t)}} },
			[]poolrt.RouterOption{poolrt.Lend(4)}, "no route has a dynamic pool"},
		{"budget below the floors", func(t *testing.T) routes {
			return routes{{Class: "a", Pool: dynamic(t, 1, 4), Min: 2}, {Class: "b", Pool: dynamic(t, 1, 4)}}
		}, []poolrt.RouterOption{poolrt.Lend(2)}, "keep 3 workers"},
		{"Lend(0)", func(t *testing.T) routes { return routes{{Class: "a", Pool: dynamic(t, 1, 2)}} },
			[]poolrt.RouterOption{poolrt.Lend(0)}, "Lend(0): the budget"},
		{"LendEvery(0)", func(t *testing.T) routes { return routes{{Class: "a", Pool: dynamic(t, 1, 2)}} },
			[]poolrt.RouterOption{poolrt.Lend(2), poolrt.LendEvery(0)}, "LendEvery(0s): the interval"},
		{"zero option", func(t *testing.T) routes { return routes{{Class: "a", Pool: fixed(t)}} },
			[]poolrt.RouterOption{{}}, "the zero RouterOption"},
		{"empty name", func(t *testing.T) routes { return routes{{Class: "a", Pool: fixed(t)}} },
			[]poolrt.RouterOption{poolrt.RouterName("")}, `RouterName(""): a name has 1 to 128 bytes`},
		{"spaced name", func(t *testing.T) routes { return routes{{Class: "a", Pool: fixed(t)}} },
			[]poolrt.RouterOption{poolrt.RouterName(" r")}, "no leading or trailing spaces"},
		{"name taken", func(t *testing.T) routes {
			p := fixed(t, poolrt.Name("router-test/taken"))
			t.Cleanup(func() { p.ShutdownNow() })
			return routes{{Class: "a", Pool: fixed(t)}}
		}, []poolrt.RouterOption{poolrt.RouterName("router-test/taken")}, `RouterName("router-test/taken"): poolgen: pool name taken`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := tc.routes(t)
			r, err := templates.NewRouter(rs, tc.opts...)
			assert.Nil(t, r)
			var ce *poolrt.ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "poolgen: "), err.Error())
			for _, rt := range rs {
				if rt.Pool != nil && rt.Pool != (*templates.FixedPool[lane])(nil) {
					assert.True(t, rt.Pool.Closed(), "NewRouter stops the pools of a router it refuses")
				}
			}
		})
	}
}

// TestRouterName: a named router is listed by poolmon as a pool of
// pattern "router" whose Stats are the router's, from its constructor
// until its Shutdown; a name a refused router reserved is free again.
func TestRouterName(t *testing.T) {
	listed := func(name string) (poolmon.Pool, bool) {
		for _, p := range poolmon.Pools() {
			if p.Name == name {
				return p, true
			}
		}
		return poolmon.Pool{}, false
	}
	_, err := templates.NewRouter(routes{{Class: "a", Pool: fixed(t)}}, poolrt.RouterName("router-test/freed"), poolrt.Lend(2))
	require.ErrorContains(t, err, "no route has a dynamic pool")
	r, err := templates.NewRouter(routes{{Class: "a", Pool: fixed(t)}, {Class: "b", Pool: fixed(t)}},
		poolrt.RouterName("router-test/freed"))
	require.NoError(t, err, "the name a refused router reserved is free")
	for range 3 {
		require.NoError(t, r.SubmitWait(t.Context(), lane{class: "b"}))
	}
	p, ok := listed("router-test/freed")
	require.True(t, ok, "a named router is listed")
	assert.Equal(t, "router", p.Pattern)
	assert.Equal(t, "templates_test.lane", p.Task)
	assert.Equal(t, uint64(3), p.Stats.Completed)
	require.NotNil(t, p.Stats.Router)
	assert.Equal(t, uint64(3), p.Stats.Router.Classes[1].Stats.Completed)

	_, err = templates.NewRouter(routes{{Class: "a", Pool: fixed(t)}}, poolrt.RouterName("router-test/freed"))
	assert.ErrorContains(t, err, "pool name taken", "two running routers cannot share a name")
	_, err = templates.NewFixedPool[lane](poolrt.Name("router-test/freed"))
	assert.ErrorContains(t, err, "pool name taken", "nor a router and a pool")

	require.NoError(t, r.Shutdown(t.Context()))
	_, ok = listed("router-test/freed")
	assert.False(t, ok, "a router leaves the list when it has shut down")

	r, err = templates.NewRouter(routes{{Class: "a", Pool: fixed(t)}}, poolrt.RouterName("router-test/now"))
	require.NoError(t, err)
	_, ok = listed("router-test/now")
	assert.True(t, ok)
	r.ShutdownNow()
	_, ok = listed("router-test/now")
	assert.False(t, ok, "ShutdownNow takes the router off the list")
}

func TestRouterDefaultRoute(t *testing.T) {
	a, b := fixed(t), fixed(t)
	r, err := templates.NewRouter(routes{{Class: "a", Pool: a}, {Class: "b", Pool: b, Default: true}})
	require.NoError(t, err)
	ctx := t.Context()
	require.NoError(t, r.SubmitWait(ctx, lane{class: "a"}))
	require.NoError(t, r.SubmitWait(ctx, lane{class: "zzz"}))
	require.NoError(t, r.TrySubmit(lane{class: "other"}))
	require.NoError(t, r.Submit(ctx, lane{class: "b"}))
	require.NoError(t, r.Shutdown(ctx))
	assert.True(t, r.Closed())
	assert.True(t, a.Closed() && b.Closed(), "Shutdown shuts every class's pool down")
	st := r.Stats()
	assert.Equal(t, uint64(1), a.Stats().Completed)
	assert.Equal(t, uint64(3), b.Stats().Completed, "unknown classes go to the default route")
	assert.Equal(t, uint64(2), st.Router.Unknown)
	assert.Equal(t, uint64(4), st.Completed)
	assert.True(t, st.Router.Classes[1].Default)
	assert.ErrorIs(t, r.Submit(ctx, lane{class: "a"}), poolrt.ErrClosed)
	assert.ErrorIs(t, r.TrySubmit(lane{class: "nope"}), poolrt.ErrClosed, "ErrClosed comes before the class is looked up")
	assert.ErrorIs(t, r.SubmitWait(ctx, lane{class: "a"}), poolrt.ErrClosed)
}

func TestRouterSubmitWaitError(t *testing.T) {
	r, err := templates.NewRouter(routes{{Class: "a", Pool: fixed(t)}})
	require.NoError(t, err)
	defer r.ShutdownNow()
	boom := errors.New("boom")
	assert.ErrorIs(t, r.SubmitWait(t.Context(), lane{class: "a", run: func(context.Context) error { return boom }}), boom)
}

func TestRouterNilTask(t *testing.T) {
	p, err := templates.NewFixedPool[*ptrLane]()
	require.NoError(t, err)
	r, err := templates.NewRouter([]templates.RouterClass[*ptrLane, string]{{Class: "a", Pool: p}})
	require.NoError(t, err)
	defer r.ShutdownNow()
	assert.ErrorIs(t, r.Submit(t.Context(), nil), poolrt.ErrNilTask)
	assert.ErrorIs(t, r.TrySubmit(nil), poolrt.ErrNilTask)
	assert.ErrorIs(t, r.SubmitWait(t.Context(), nil), poolrt.ErrNilTask)
	require.NoError(t, r.SubmitWait(t.Context(), &ptrLane{class: "a"}))
	assert.Zero(t, r.Stats().Router.Unknown)
}

func TestRouterShutdownContext(t *testing.T) {
	release := make(chan struct{})
	r, err := templates.NewRouter(routes{{Class: "a", Pool: fixed(t, poolrt.Workers(1))}, {Class: "b", Pool: fixed(t)}})
	require.NoError(t, err)
	started := make(chan struct{})
	require.NoError(t, r.Submit(t.Context(), lane{class: "a", run: func(ctx context.Context) error {
		close(started)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}}))
	<-started
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, r.Shutdown(ctx), context.DeadlineExceeded)
	assert.Empty(t, r.ShutdownNow())
	close(release)
}

func TestRouterStatsString(t *testing.T) {
	r, err := templates.NewRouter(routes{
		{Class: "tiny", Pool: dynamic(t, 1, 2), Default: true},
		{Class: "io", Pool: dynamic(t, 1, 4), Min: 2},
	}, poolrt.Lend(4))
	require.NoError(t, err)
	for range 10 {
		require.NoError(t, r.SubmitWait(t.Context(), lane{class: "io"}))
	}
	require.NoError(t, r.Shutdown(t.Context()))
	st := r.Stats()
	s := st.String()
	assert.Contains(t, s, "router")
	assert.Contains(t, s, "2 classes")
	assert.Contains(t, s, "lending 4 workers")
	assert.Contains(t, s, `class "tiny" (default)`)
	assert.Contains(t, s, `class "io"`)
	assert.Contains(t, s, "completed 10")
	assert.Equal(t, st.Router.String(), s[strings.Index(s, "router"):], "RouterStats.String is the section Stats.String prints")
	assert.Equal(t, 2, st.Router.Classes[1].Min)
	assert.True(t, st.Router.Classes[1].Lent)
	assert.Equal(t, 4, st.Router.Budget)
}

// TestRouterLending shifts a workload from one class to the other: the
// busy class's limit grows to the budget less the idle class's floor,
// then the capacity moves back when the mix turns.
func TestRouterLending(t *testing.T) {
	const budget = 6
	r, err := templates.NewRouter(routes{
		{Class: "a", Pool: dynamic(t, 1, budget), Min: 1},
		{Class: "b", Pool: dynamic(t, 1, budget), Min: 1},
	}, poolrt.Lend(budget), poolrt.LendEvery(2*time.Millisecond))
	require.NoError(t, err)
	defer r.ShutdownNow()
	limits := func() (int, int) {
		c := r.Stats().Router.Classes
		return c[0].Limit, c[1].Limit
	}
	a, b := limits()
	assert.Equal(t, budget, a+b, "the budget is shared from the start")
	for _, busy := range []string{"a", "b"} {
		gate := make(chan struct{})
		for range 3 * budget {
			require.NoError(t, r.Submit(t.Context(), lane{class: busy, run: func(ctx context.Context) error {
				<-gate
				return nil
			}}))
		}
		want := [2]int{budget - 1, 1}
		if busy == "b" {
			want = [2]int{1, budget - 1}
		}
		assert.Eventually(t, func() bool {
			a, b := limits()
			return a == want[0] && b == want[1]
		}, 2*time.Second, time.Millisecond, "class %s busy: limits %v", busy, want)
		assert.Eventually(t, func() bool {
			return r.Stats().Router.Classes[map[string]int{"a": 0, "b": 1}[busy]].Stats.Workers == budget-1
		},
			2*time.Second, time.Millisecond, "the busy class's pool grows to its limit")
		close(gate)
		assert.Eventually(t, func() bool { return r.Stats().QueueDepth == 0 && r.Stats().Busy == 0 }, 2*time.Second, time.Millisecond)
	}
	st := r.Stats()
	assert.GreaterOrEqual(t, st.Router.Moves, uint64(4))
	require.NoError(t, r.Shutdown(t.Context()))
}

// TestRouterLendsByBacklog: when both classes have more work than the
// budget covers, the lender splits the workers above the floors in
// proportion to the classes' backlogs (busy plus queued), not evenly:
// 30 and 10 tasks beyond a floor of 1 each share 8 workers 6 and 2. The
// fake clock of synctest makes the ticks and the counts exact.
func TestRouterLendsByBacklog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const budget = 10
		r, err := templates.NewRouter(routes{
			{Class: "a", Pool: dynamic(t, 1, 20), Min: 1},
			{Class: "b", Pool: dynamic(t, 1, 20), Min: 1},
		}, poolrt.Lend(budget), poolrt.LendEvery(10*time.Millisecond))
		require.NoError(t, err)
		gate := make(chan struct{})
		held := lane{run: func(ctx context.Context) error {
			<-gate
			return nil
		}}
		for class, n := range map[string]int{"a": 31, "b": 11} {
			held.class = class
			for range n {
				require.NoError(t, r.Submit(t.Context(), held))
			}
		}
		limits := func() [2]int {
			c := r.Stats().Router.Classes
			return [2]int{c[0].Limit, c[1].Limit}
		}
		time.Sleep(25 * time.Millisecond) // two ticks
		synctest.Wait()
		assert.Equal(t, [2]int{7, 3}, limits(), "backlogs 31 and 11: 30:10 above the floors")
		time.Sleep(100 * time.Millisecond) // the pools grow to their limits; the split holds
		synctest.Wait()
		assert.Equal(t, [2]int{7, 3}, limits())
		// Class a grows to its limit; b's workers that took tasks before
		// its limit fell finish them first.
		assert.Equal(t, 7, r.Stats().Router.Classes[0].Stats.Workers)
		close(gate)
		require.NoError(t, r.Shutdown(context.Background()))
		assert.Equal(t, uint64(42), r.Stats().Completed)
	})
}

// BenchmarkRouterSubmit compares Submit through a router of two classes
// with Submit straight to the class's pool: the router's cost per task.
func BenchmarkRouterSubmit(b *testing.B) {
	ctx := context.Background()
	newPool := func() *templates.FixedPool[lane] {
		p, err := templates.NewFixedPool[lane](poolrt.Workers(1))
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	b.Run("direct", func(b *testing.B) {
		p := newPool()
		b.ReportAllocs()
		for b.Loop() {
			if err := p.Submit(ctx, lane{class: "a"}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		_ = p.Shutdown(ctx)
	})
	b.Run("routed", func(b *testing.B) {
		r, err := templates.NewRouter(routes{{Class: "a", Pool: newPool()}, {Class: "b", Pool: newPool()}})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := r.Submit(ctx, lane{class: "a"}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		_ = r.Shutdown(ctx)
	})
}
