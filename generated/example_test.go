package generated_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/poolgen/poolgen/generated"
	poolrt "github.com/poolgen/poolgen/runtime"
)

func ExampleResizeFixedPool() {
	ctx := context.Background()
	var done generated.Totals
	p, err := generated.NewResizeFixedPool(poolrt.Workers(4))
	if err != nil {
		panic(err)
	}
	for i := range 1000 {
		// Resize is held by value: Submit allocates nothing.
		p.Submit(ctx, generated.Resize{Src: fmt.Sprint(i, ".png"), Width: 64, Height: 2, Done: &done})
	}
	p.Submit(ctx, generated.Resize{}) // no source: Run fails, counted
	if err := p.Shutdown(ctx); err != nil {
		panic(err)
	}
	st := p.Stats()
	fmt.Println("resized:", done.Count.Load(), "completed:", st.Completed, "failed:", st.Failed)
	// Output: resized: 1000 completed: 1001 failed: 1
}

func ExampleThumbFixedPool() {
	ctx := context.Background()
	p, err := generated.NewThumbFixedPool()
	if err != nil {
		panic(err)
	}
	thumbs := []*generated.Thumb{{Name: "a", Size: 8}, {Name: "b", Size: 16}}
	for _, t := range thumbs {
		p.Submit(ctx, t) // the pool holds *Thumb: Run's result stays in it
	}
	p.Shutdown(ctx)
	for _, t := range thumbs {
		fmt.Println(t.Name, len(t.Pixels()))
	}
	// Output:
	// a 64
	// b 256
}

func ExampleOrderBatchPool() {
	ctx := context.Background()
	generated.Ledger.Reset()
	// Batches of up to 10 orders of one customer, handed to SaveOrders
	// when full, 50 ms after their first order, or at shutdown.
	p, err := generated.NewOrderBatchPool(poolrt.MaxBatch(10), poolrt.Linger(50*time.Millisecond))
	if err != nil {
		panic(err)
	}
	for i := range 25 {
		p.Submit(ctx, generated.Order{ID: i, Customer: "acme", Cents: 100})
	}
	p.Submit(ctx, generated.Order{ID: 25, Customer: "globex", Cents: 999})
	if err := p.Shutdown(ctx); err != nil {
		panic(err)
	}
	batches, orders, cents := generated.Ledger.Totals("acme")
	st := p.Stats().Batch
	fmt.Println("batches:", batches, "orders:", orders, "acme:", cents)
	fmt.Println("full:", st.Full, "flushed at shutdown or after lingering:", st.Shutdown+st.Linger)
	// Output:
	// batches: 4 orders: 26 acme: 2500
	// full: 2 flushed at shutdown or after lingering: 2
}

func ExampleRequestFairPool() {
	ctx := context.Background()
	p, err := generated.NewRequestFairPool(poolrt.Workers(2),
		poolrt.TenantWeights(map[string]int{"acme": 3}), // acme pays for three times the others' share
		poolrt.TenantQueueSize(256))                     // each customer may queue 256 requests
	if err != nil {
		panic(err)
	}
	done := make(chan int, 300)
	for i := range 200 { // acme floods the pool ...
		_ = p.Submit(ctx, generated.Request{ID: i, Customer: "acme", Work: 100 * time.Microsecond, Done: done})
	}
	for i := range 20 { // ... and globex's requests are served all the same
		_ = p.Submit(ctx, generated.Request{ID: 1000 + i, Customer: "globex", Work: 100 * time.Microsecond, Done: done})
	}
	if err := p.Shutdown(ctx); err != nil {
		panic(err)
	}
	fmt.Println(len(done), "requests served")
	// Output: 220 requests served
}

// A request's Budget field, tagged poolgen:"timeout", is its own timeout:
// the generated pool reads it for each request, as it would a Timeout
// method.
func ExampleRequestFairPool_budget() {
	ctx := context.Background()
	p, err := generated.NewRequestFairPool(poolrt.Workers(1))
	if err != nil {
		panic(err)
	}
	defer p.Shutdown(ctx)
	err = p.SubmitWait(ctx, generated.Request{Customer: "acme", Work: time.Hour, Budget: 10 * time.Millisecond})
	fmt.Println("over budget:", errors.Is(err, context.DeadlineExceeded))
	err = p.SubmitWait(ctx, generated.Request{Customer: "acme", Work: time.Millisecond, Budget: time.Minute})
	fmt.Println("within budget:", err)
	fmt.Println("timed out:", p.Stats().TimedOut)
	// Output:
	// over budget: true
	// within budget: <nil>
	// timed out: 1
}
