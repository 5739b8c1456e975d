package templates_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolmon"
	"github.com/poolgen/poolgen/templates"
)

// Job is a task for the router's example: its Kind is its class.
type Job struct {
	Kind string // "tiny" or "io"
	N    int
}

var jobsDone atomic.Int64

func (j Job) Run(ctx context.Context) error {
	if j.Kind == "io" {
		time.Sleep(time.Millisecond) // waits like a network call
	}
	jobsDone.Add(1)
	return nil
}

// Class routes a Job by its kind.
func (j Job) Class() string { return j.Kind }

func ExampleRouter() {
	ctx := context.Background()
	// Tiny jobs get two workers of their own, so that slow jobs never
	// hold them up; I/O jobs a dynamic pool of up to 64.
	tiny, err := templates.NewFixedPool[Job](poolrt.Workers(2))
	if err != nil {
		panic(err)
	}
	io, err := templates.NewDynamicPool[Job](poolrt.WorkerLimits(1, 64))
	if err != nil {
		panic(err)
	}
	r, err := templates.NewRouter([]templates.RouterClass[Job, string]{
		{Class: "tiny", Pool: tiny, Default: true}, // and jobs of unknown kinds
		{Class: "io", Pool: io},
	})
	if err != nil {
		panic(err)
	}
	for i := range 100 {
		kind := "tiny"
		if i%10 == 0 {
			kind = "io"
		}
		if err := r.Submit(ctx, Job{Kind: kind, N: i}); err != nil {
			panic(err)
		}
	}
	if err := r.Shutdown(ctx); err != nil { // shuts both pools down
		panic(err)
	}
	st := r.Stats()
	fmt.Println("done:", jobsDone.Load(), "of", st.Completed)
	for _, c := range st.Router.Classes {
		fmt.Println(c.Class, c.Stats.Completed)
	}
	// Output:
	// done: 100 of 100
	// tiny 90
	// io 10
}

// The classes of a router whose pools are dynamic can share a budget of
// workers: the router lends the workers an idle class does not need to a
// busy one, down to each class's Min.
func ExampleRouter_lend() {
	ctx := context.Background()
	newPool := func() *templates.DynamicPool[Job] {
		p, err := templates.NewDynamicPool[Job](poolrt.WorkerLimits(1, 8))
		if err != nil {
			panic(err)
		}
		return p
	}
	r, err := templates.NewRouter([]templates.RouterClass[Job, string]{
		{Class: "tiny", Pool: newPool(), Min: 1},
		{Class: "io", Pool: newPool(), Min: 2},
	}, poolrt.Lend(8), poolrt.LendEvery(5*time.Millisecond))
	if err != nil {
		panic(err)
	}
	defer r.ShutdownNow()
	for i := range 400 { // a backlog of I/O jobs, none tiny
		if err := r.Submit(ctx, Job{Kind: "io", N: i}); err != nil {
			panic(err)
		}
	}
	// Within a few intervals the io class holds every worker the tiny
	// class does not keep.
	for deadline := time.Now().Add(time.Second); r.Stats().Router.Classes[1].Limit < 7 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	for _, c := range r.Stats().Router.Classes {
		fmt.Printf("%s: %d to %d workers\n", c.Class, c.Min, c.Limit)
	}
	// Output:
	// tiny: 1 to 1 workers
	// io: 2 to 7 workers
}

// A router with a name is listed by poolmon, and so by its live page and
// the Prometheus collector, as a pool of pattern "router" whose Stats are
// the sums of its classes'; its classes' pools need no names of their own.
func ExampleRouter_name() {
	ctx := context.Background()
	newPool := func() *templates.FixedPool[Job] {
		p, err := templates.NewFixedPool[Job](poolrt.Workers(2))
		if err != nil {
			panic(err)
		}
		return p
	}
	r, err := templates.NewRouter([]templates.RouterClass[Job, string]{
		{Class: "tiny", Pool: newPool()},
		{Class: "io", Pool: newPool()},
	}, poolrt.RouterName("example/jobs"))
	if err != nil {
		panic(err)
	}
	for i := range 4 {
		if err := r.SubmitWait(ctx, Job{Kind: []string{"tiny", "io"}[i%2]}); err != nil {
			panic(err)
		}
	}
	for _, p := range poolmon.Pools() {
		if p.Name == "example/jobs" {
			fmt.Println(p.Name, p.Pattern, p.Task, p.Stats.Completed, len(p.Stats.Router.Classes), "classes")
		}
	}
	if err := r.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// example/jobs router templates_test.Job 4 2 classes
}
