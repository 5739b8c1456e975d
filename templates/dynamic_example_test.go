package templates_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// Fetch is a task for the dynamic pool's example.
type Fetch struct{ URL string }

var fetched atomic.Int64

func (f Fetch) Run(ctx context.Context) error {
	fetched.Add(1)
	return nil
}

func ExampleDynamicPool() {
	ctx := context.Background()
	// Between 0 and 8 workers: none while quiet, a new one as soon as a
	// task arrives, more while the workers stay busy or the queue grows.
	p, err := templates.NewDynamicPool[Fetch](
		poolrt.WorkerLimits(0, 8),
		poolrt.ScaleInterval(50*time.Millisecond),
		poolrt.IdleTimeout(time.Minute),
	)
	if err != nil {
		panic(err)
	}
	fmt.Println("size while quiet:", p.Size())
	for i := range 100 {
		if err := p.Submit(ctx, Fetch{URL: fmt.Sprint("https://example.com/", i)}); err != nil {
			panic(err)
		}
	}

	// Limits can change at run time; the pool resizes at once if need be.
	if err := p.SetLimits(2, 4); err != nil {
		panic(err)
	}
	fmt.Println("size at least 2:", p.Size() >= 2)
	fmt.Println(p.SetLimits(5, 4))

	if err := p.Shutdown(ctx); err != nil {
		panic(err)
	}
	st := p.Stats()
	fmt.Println("fetched:", fetched.Load(), "completed:", st.Completed)
	first := st.Scaling.Events[0]
	fmt.Printf("first change: %d→%d, %s\n", first.From, first.To, first.Reason)
	// Output:
	// size while quiet: 0
	// size at least 2: true
	// poolgen: invalid option SetLimits(5, 4): the minimum 5 is above the maximum 4
	// fetched: 100 completed: 100
	// first change: 0→1, a task arrived at a pool without workers
}
