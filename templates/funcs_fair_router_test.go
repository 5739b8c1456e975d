package templates_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// ticket is a task whose tenant and class are fields tagged for poolgen:
// it has no Tenant or Class method, so only the Func pools take it.
type ticket struct {
	Org  string `poolgen:"tenant"`
	Kind string `poolgen:"class"`
	fn   func(ctx context.Context) error
}

func (t ticket) Run(ctx context.Context) error {
	if t.fn != nil {
		return t.fn(ctx)
	}
	return nil
}

func ticketOrg(t ticket) string  { return t.Org }
func ticketKind(t ticket) string { return t.Kind }

// TestFairFuncPool: the tenant the function reads is the one the pool
// shares by: two flooding tenants of weights 3 and 1 get 3/4 and 1/4 of
// the worker's time, and every accepted task ends exactly once.
func TestFairFuncPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := templates.NewFairFuncPool(ticketOrg, poolrt.Workers(1), poolrt.TenantWeights(map[string]int{"acme": 3, "globex": 1}))
		require.NoError(t, err)
		ctx, stop := context.WithCancel(context.Background())
		var busy [2]atomic.Int64
		var wg sync.WaitGroup
		for i, org := range []string{"acme", "globex"} {
			wg.Go(func() {
				for ctx.Err() == nil {
					_ = p.Submit(ctx, ticket{Org: org, fn: func(context.Context) error {
						time.Sleep(time.Millisecond)
						busy[i].Add(1)
						return nil
					}})
				}
			})
		}
		time.Sleep(time.Second)
		a, g := busy[0].Load(), busy[1].Load()
		assert.InDelta(t, 0.75, float64(a)/float64(a+g), 0.05, "acme ran %d tasks, globex %d", a, g)
		stop()
		wg.Wait()
		left := p.ShutdownNow()
		st := p.Stats()
		require.NotNil(t, st.Fair)
		assert.Equal(t, st.Submitted, st.Completed+st.Panicked+st.DeadLettered+st.Returned, "every accepted task ends once")
		assert.Equal(t, uint64(len(left)), st.Returned)
		assert.True(t, p.Closed())
	})
}

// TestFairFuncPoolSubmitWait: TrySubmit and SubmitWait read the tenant
// too, and SubmitWait returns the task's error.
func TestFairFuncPoolSubmitWait(t *testing.T) {
	defer goleak.VerifyNone(t)
	var orgs []string
	p, err := templates.NewFairFuncPool(func(t ticket) string {
		orgs = append(orgs, t.Org) // submissions are sequential here
		return t.Org
	}, poolrt.Workers(2))
	require.NoError(t, err)
	boom := errors.New("boom")
	ctx := context.Background()
	assert.ErrorIs(t, p.SubmitWait(ctx, ticket{Org: "a", fn: func(context.Context) error { return boom }}), boom)
	require.NoError(t, p.TrySubmit(ticket{Org: "b"}))
	require.NoError(t, p.Shutdown(ctx))
	assert.Equal(t, []string{"a", "b"}, orgs)
	assert.Equal(t, uint64(2), p.Stats().Completed)
	assert.Equal(t, uint64(1), p.Stats().Failed)
	assert.ErrorIs(t, p.TrySubmit(ticket{Org: "c"}), poolrt.ErrClosed)
	assert.Empty(t, p.ShutdownNow())
}

// ticketPool returns a fixed pool of tickets for a route.
func ticketPool(t *testing.T, opts ...poolrt.Option) *templates.FixedPool[ticket] {
	t.Helper()
	p, err := templates.NewFixedPool[ticket](opts...)
	require.NoError(t, err)
	return p
}

// TestFuncRouter: the class the function reads routes the task, unknown
// classes go to the default route, and the per-class Stats add up.
func TestFuncRouter(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	r, err := templates.NewFuncRouter(ticketKind, []templates.FuncRouterClass[ticket, string]{
		{Class: "email", Pool: ticketPool(t)},
		{Class: "sms", Pool: ticketPool(t), Default: true},
	}, poolrt.RouterName("func-router-test"))
	require.NoError(t, err)
	boom := errors.New("boom")
	for range 3 {
		require.NoError(t, r.Submit(ctx, ticket{Kind: "email"}))
	}
	require.NoError(t, r.TrySubmit(ticket{Kind: "sms"}))
	assert.ErrorIs(t, r.SubmitWait(ctx, ticket{Kind: "fax", fn: func(context.Context) error { return boom }}), boom)
	require.NoError(t, r.Shutdown(ctx))
	assert.True(t, r.Closed())
	st := r.Stats()
	assert.Equal(t, uint64(5), st.Completed)
	assert.Equal(t, uint64(1), st.Router.Unknown)
	assert.Equal(t, uint64(3), st.Router.Classes[0].Stats.Completed)
	assert.Equal(t, uint64(2), st.Router.Classes[1].Stats.Completed, "sms and the unknown fax")
	assert.ErrorIs(t, r.Submit(ctx, ticket{Kind: "email"}), poolrt.ErrClosed)
	assert.Empty(t, r.ShutdownNow())
}

// TestFuncRouterLends: a FuncRouter lends workers between its dynamic
// classes as a Router does.
func TestFuncRouterLends(t *testing.T) {
	defer goleak.VerifyNone(t)
	dyn := func() *templates.DynamicPool[ticket] {
		p, err := templates.NewDynamicPool[ticket](poolrt.WorkerLimits(1, 4), poolrt.ScaleInterval(5*time.Millisecond))
		require.NoError(t, err)
		return p
	}
	r, err := templates.NewFuncRouter(ticketKind, []templates.FuncRouterClass[ticket, string]{
		{Class: "a", Pool: dyn(), Min: 1}, {Class: "b", Pool: dyn()},
	}, poolrt.Lend(5), poolrt.LendEvery(2*time.Millisecond))
	require.NoError(t, err)
	defer r.ShutdownNow()
	gate := make(chan struct{})
	for range 12 {
		require.NoError(t, r.Submit(context.Background(), ticket{Kind: "a", fn: func(context.Context) error {
			<-gate
			return nil
		}}))
	}
	assert.Eventually(t, func() bool {
		c := r.Stats().Router.Classes
		return c[0].Limit == 4 && c[1].Limit == 1
	}, 2*time.Second, time.Millisecond, "the busy class gets all but the idle one's floor, up to its pool's 4")
	close(gate)
}

// TestFuncPoolsNilFunctions: a nil tenant or class function is a
// *poolrt.ConfigError; the router's pools are stopped, and no goroutine
// is left.
func TestFuncPoolsNilFunctions(t *testing.T) {
	defer goleak.VerifyNone(t)
	var ce *poolrt.ConfigError
	fp, err := templates.NewFairFuncPool[ticket, string](nil)
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "tenant", ce.Option)
	assert.Nil(t, fp)
	fp, err = templates.NewFairFuncPool(ticketOrg, poolrt.TenantQueueSize(-1))
	require.ErrorAs(t, err, &ce)
	assert.Nil(t, fp)

	pool := ticketPool(t)
	r, err := templates.NewFuncRouter(nil, []templates.FuncRouterClass[ticket, string]{{Class: "a", Pool: pool}},
		poolrt.RouterName("func-router-nil"))
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "class", ce.Option)
	assert.Contains(t, err.Error(), "poolgen: ")
	assert.Nil(t, r)
	assert.True(t, pool.Closed(), "the routes' pools are stopped")
	r, err = templates.NewFuncRouter(ticketKind, []templates.FuncRouterClass[ticket, string]{{Class: "a", Pool: ticketPool(t)}},
		poolrt.RouterName("func-router-nil"))
	require.NoError(t, err, "the refused router's name is free")
	r.ShutdownNow()

	r, err = templates.NewFuncRouter(ticketKind, nil)
	require.ErrorAs(t, err, &ce)
	assert.Nil(t, r)
}

// TestFuncPoolsNilPointerTasks: pools of pointers refuse nil tasks
// without calling the function, which would dereference them.
func TestFuncPoolsNilPointerTasks(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	fp, err := templates.NewFairFuncPool(func(t *ticket) string { return t.Org })
	require.NoError(t, err)
	pool, err := templates.NewFixedPool[*ticket]()
	require.NoError(t, err)
	r, err := templates.NewFuncRouter(func(t *ticket) string { return t.Kind }, []templates.FuncRouterClass[*ticket, string]{{Class: "a", Pool: pool}})
	require.NoError(t, err)
	for _, p := range []interface {
		Submit(context.Context, *ticket) error
		TrySubmit(*ticket) error
		SubmitWait(context.Context, *ticket) error
		Shutdown(context.Context) error
	}{fp, r} {
		assert.ErrorIs(t, p.Submit(ctx, nil), poolrt.ErrNilTask)
		assert.ErrorIs(t, p.TrySubmit(nil), poolrt.ErrNilTask)
		assert.ErrorIs(t, p.SubmitWait(ctx, nil), poolrt.ErrNilTask)
		require.NoError(t, p.SubmitWait(ctx, &ticket{Org: "o", Kind: "a"}))
		require.NoError(t, p.Shutdown(ctx))
	}
}
