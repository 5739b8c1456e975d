package poolrt_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// Lookup stands for a call that takes a few milliseconds.
type Lookup struct{}

func (Lookup) Run(context.Context) error {
	time.Sleep(5 * time.Millisecond)
	return nil
}

// Shed refuses submissions with ErrOverloaded once the queue waits stay
// above the target, instead of letting every task wait in a growing
// queue. Here one worker is offered about five times what it can run.
func ExampleShed() {
	p, err := templates.NewFixedPool[Lookup](
		poolrt.Workers(1),
		poolrt.Shed(poolrt.ShedPolicy{Target: time.Millisecond, Interval: 20 * time.Millisecond}),
		poolrt.LatencySampling(1), // every task's wait informs the controller
	)
	if err != nil {
		panic(err)
	}
	var admitted, shed int
	for range 200 {
		switch err := p.Submit(context.Background(), Lookup{}); {
		case err == nil:
			admitted++
		case errors.Is(err, poolrt.ErrOverloaded):
			shed++ // in a service: answer "busy, retry later" at once
		default:
			panic(err)
		}
		time.Sleep(time.Millisecond)
	}
	_ = p.Shutdown(context.Background())
	st := p.Stats()
	fmt.Println("some shed:", shed > 0, "- counted:", st.Shed == uint64(shed))
	fmt.Println("admitted and completed:", st.Submitted == uint64(admitted) && st.Completed == st.Submitted)
	// Output:
	// some shed: true - counted: true
	// admitted and completed: true
}
