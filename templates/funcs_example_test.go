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
