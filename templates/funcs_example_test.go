package templates_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// Payment is a batch task with its key in a field tagged for poolgen and
// no method: generated pools read the tag, the generic pool a function.
type Payment struct {
	Account string `poolgen:"batchkey"`
	Cents   int64
}

func ExampleNewBatchFuncPool() {
	var mu sync.Mutex
	totals := map[string]int64{}
	book := func(ctx context.Context, batch []Payment) error {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range batch {
			totals[p.Account] += p.Cents
		}
		return nil
	}
	account := func(p Payment) string { return p.Account }
	p, err := templates.NewBatchFuncPool(account, book, poolrt.MaxBatch(100), poolrt.Linger(time.Second))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for i := range 10 {
		p.Submit(ctx, Payment{Account: []string{"alice", "bob"}[i%2], Cents: int64(i)})
	}
	if err := p.Shutdown(ctx); err != nil {
		panic(err)
	}
	fmt.Println("alice:", totals["alice"], "bob:", totals["bob"], "batches:", p.Stats().Batch.Batches)
	// Output:
	// alice: 20 bob: 25 batches: 2
}

// Page is a task whose priority is a field tagged for poolgen; it has no
// Priority method.
type Page struct {
	URL     string
	Urgency int             `poolgen:"priority"`
	hold    <-chan struct{} // if non-nil, Run waits for it to close
}

func (pg Page) Run(ctx context.Context) error {
	fmt.Println("fetch", pg.URL)
	if pg.hold != nil {
		<-pg.hold
	}
	return nil
}

func ExampleNewPriorityFuncPool() {
	urgency := func(pg Page) int64 { return int64(pg.Urgency) }
	p, err := templates.NewPriorityFuncPool(urgency, poolrt.Workers(1))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	// The most urgent page runs first and holds the only worker while the
	// others queue up.
	hold := make(chan struct{})
	p.Submit(ctx, Page{URL: "/home", Urgency: 9, hold: hold})
	p.Submit(ctx, Page{URL: "/about", Urgency: 1})
	p.Submit(ctx, Page{URL: "/news", Urgency: 5})
	p.Submit(ctx, Page{URL: "/shop", Urgency: 5})
	close(hold)
	if err := p.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// fetch /home
	// fetch /news
	// fetch /shop
	// fetch /about
}

// Upload is a task whose tenant and class are fields tagged for poolgen,
// with no Tenant or Class method: generated pools read the tags, the
// generic ones a function.
type Upload struct {
	Customer string `poolgen:"tenant"`
	Size     string `poolgen:"class"` // "small" or "large"
}

func (u Upload) Run(ctx context.Context) error { return nil }

func ExampleNewFairFuncPool() {
	customer := func(u Upload) string { return u.Customer }
	p, err := templates.NewFairFuncPool(customer, poolrt.Workers(2),
		poolrt.TenantWeights(map[string]int{"acme": 3})) // acme pays for three shares
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for i := range 6 {
		who := "acme"
		if i%3 == 0 {
			who = "globex"
		}
		if err := p.Submit(ctx, Upload{Customer: who}); err != nil {
			panic(err)
		}
	}
	if err := p.Shutdown(ctx); err != nil {
		panic(err)
	}
	st := p.Stats()
	fmt.Println("completed:", st.Completed, "of", st.Submitted)
	// Output:
	// completed: 6 of 6
}

func ExampleNewFuncRouter() {
	size := func(u Upload) string { return u.Size }
	newPool := func(workers int) *templates.FixedPool[Upload] {
		p, err := templates.NewFixedPool[Upload](poolrt.Workers(workers))
		if err != nil {
			panic(err)
		}
		return p
	}
	// Large uploads get a pool of their own, so that they never hold up
	// the small ones.
	r, err := templates.NewFuncRouter(size, []templates.FuncRouterClass[Upload, string]{
		{Class: "small", Pool: newPool(4), Default: true},
		{Class: "large", Pool: newPool(1)},
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for _, s := range []string{"small", "large", "small", "huge"} {
		if err := r.Submit(ctx, Upload{Customer: "acme", Size: s}); err != nil {
			panic(err)
		}
	}
	if err := r.Shutdown(ctx); err != nil {
		panic(err)
	}
	for _, c := range r.Stats().Router.Classes {
		fmt.Println(c.Class, c.Stats.Completed)
	}
	fmt.Println("unknown classes:", r.Stats().Router.Unknown)
	// Output:
	// small 3
	// large 1
	// unknown classes: 1
}
