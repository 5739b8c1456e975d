package poolprom

import (
	"context"
	"testing"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// routed is a task of the router test: its class is its kind.
type routed struct {
	work
	kind string
}

func (r routed) Class() string { return r.kind }

// TestRouterClasses: a router's classes are exported as the pools they
// are, each under its own name: the series of the class named "router/a"
// agree with the router's per-class Stats, the lent limit included; the
// router, named too, is exported as a pool of pattern "router" with its
// per-class section.
func TestRouterClasses(t *testing.T) {
	ctx := context.Background()
	newPool := func(name string) *templates.DynamicPool[routed] {
		p, err := templates.NewDynamicPool[routed](poolrt.Name(name), poolrt.WorkerLimits(1, 4))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	r, err := templates.NewRouter([]templates.RouterClass[routed, string]{
		{Class: "a", Pool: newPool("router/a")},
		{Class: "b", Pool: newPool("router/b")},
	}, poolrt.Lend(5), poolrt.LendEvery(time.Hour), poolrt.RouterName("router"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.ShutdownNow()
	for i := range 30 {
		kind := "a"
		if i%3 == 0 {
			kind = "b"
		}
		if err := r.SubmitWait(ctx, routed{kind: kind}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	fams := gather(t, c)
	for _, cs := range r.Stats().Router.Classes {
		labels := map[string]string{"pool": "router/" + cs.Class}
		if got := series(t, fams["poolgen_tasks_completed_total"], labels).GetCounter().GetValue(); got != float64(cs.Stats.Completed) {
			t.Errorf("class %s: completed %g, Stats %d", cs.Class, got, cs.Stats.Completed)
		}
		if got := series(t, fams["poolgen_scaling_max_workers"], labels).GetGauge().GetValue(); got != float64(cs.Limit) {
			t.Errorf("class %s: max workers %g, the lent limit %d", cs.Class, got, cs.Limit)
		}
		router := map[string]string{"pool": "router", "pattern": "router", "class": cs.Class}
		if got := series(t, fams["poolgen_router_class_limit_workers"], router).GetGauge().GetValue(); got != float64(cs.Limit) {
			t.Errorf("router's class %s: limit %g, want %d", cs.Class, got, cs.Limit)
		}
		if got := series(t, fams["poolgen_router_class_tasks_completed_total"], router).GetCounter().GetValue(); got != float64(cs.Stats.Completed) {
			t.Errorf("router's class %s: completed %g, Stats %d", cs.Class, got, cs.Stats.Completed)
		}
	}
	if got := series(t, fams["poolgen_tasks_completed_total"], map[string]string{"pool": "router"}).GetCounter().GetValue(); got != 30 {
		t.Errorf("the router's completed %g, want the 30 tasks of its classes", got)
	}
	if a, b := r.Stats().Router.Classes[0].Limit, r.Stats().Router.Classes[1].Limit; a+b != 5 {
		t.Errorf("lent limits %d and %d, want a budget of 5", a, b)
	}
}
