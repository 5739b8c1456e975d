package templates_test

import (
	"context"
	"fmt"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// Query is a task with a tenant: the pool reads it through Tenant. (With
// poolgen, tagging the field `poolgen:"tenant"` does the same.)
type Query struct {
	Customer string
	N        int
	hold     chan struct{} // if set, Run waits for it: keeps the worker busy
}

func (q Query) Tenant() string { return q.Customer }

func (q Query) Run(ctx context.Context) error {
	if q.hold != nil {
		<-q.hold
		return nil
	}
	fmt.Println(q.Customer, q.N)
	return nil
}

func ExampleFairPool() {
	ctx := context.Background()
	p, err := templates.NewFairPool[Query](poolrt.Workers(1),
		poolrt.TenantWeights(map[string]int{"big": 2}), // twice the others' share
		poolrt.TenantQueueSize(100))                    // each customer may queue 100 queries
	if err != nil {
		panic(err)
	}
	// big keeps the only worker busy, then floods the pool; small comes
	// later with two queries.
	hold := make(chan struct{})
	_ = p.Submit(ctx, Query{Customer: "big", hold: hold})
	for i := range 3 {
		_ = p.Submit(ctx, Query{Customer: "big", N: i + 1})
	}
	for i := range 2 {
		_ = p.Submit(ctx, Query{Customer: "small", N: i + 1})
	}
	time.Sleep(10 * time.Millisecond) // big's first query takes 10ms of worker time
	close(hold)
	_ = p.Shutdown(ctx)
	// small is far behind its share: its queries go first.
	fmt.Println(p.Stats().Completed, "queries")
	// Output:
	// small 1
	// small 2
	// big 1
	// big 2
	// big 3
	// 6 queries
}
