package poolrt_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// Order calls the payment service of its region: a dependency that may
// be down.
type Order struct {
	ID     int
	Region string
	Down   *atomic.Bool // whether the region's service is down
}

// Dependency names the service the order calls: its breaker's key.
func (o Order) Dependency() string { return o.Region }

func (o Order) Run(context.Context) error {
	if o.Down.Load() {
		return errors.New("payment service unavailable")
	}
	return nil
}

// Breaker stops calling a dependency that failed three times in a row:
// the next tasks fail fast with ErrCircuitOpen, without running, and go
// to the dead-letter handler. After the cool-down, one probe runs; its
// success closes the breaker.
func ExampleBreaker() {
	p, err := templates.NewFixedPool[Order](
		poolrt.Workers(1),
		poolrt.Breaker(poolrt.BreakerPolicy{Failures: 3, Cooldown: 20 * time.Millisecond}),
		poolrt.OnDeadLetter(func(o Order, err error, attempts int) {
			if errors.Is(err, poolrt.ErrCircuitOpen) {
				fmt.Println("order", o.ID, "not sent:", err)
			}
		}))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	down := new(atomic.Bool)
	down.Store(true)
	for id := range 4 {
		_ = p.SubmitWait(ctx, Order{ID: id, Region: "eu", Down: down})
	}
	down.Store(false) // the service recovers
	time.Sleep(30 * time.Millisecond)
	fmt.Println("probe:", p.SubmitWait(ctx, Order{ID: 4, Region: "eu", Down: down}))
	_ = p.Shutdown(ctx)
	b := p.Stats().Breaker
	fmt.Println("opens", b.Opens, "half-opens", b.HalfOpens, "closes", b.Closes, "failed fast", b.FailedFast)
	// Output:
	// order 3 not sent: poolgen: circuit open
	// probe: <nil>
	// opens 1 half-opens 1 closes 1 failed fast 1
}

// BreakerKey gives each dependency its own breaker: a method expression
// names the key. The orders of a region whose service is down fail fast
// while those of the other regions run.
func ExampleBreakerKey() {
	p, err := templates.NewFixedPool[Order](
		poolrt.Workers(1),
		poolrt.Breaker(poolrt.BreakerPolicy{Failures: 2, Cooldown: time.Minute}),
		poolrt.BreakerKey(Order.Dependency))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	euDown, usUp := new(atomic.Bool), new(atomic.Bool)
	euDown.Store(true)
	for id := range 6 {
		o := Order{ID: id, Region: "eu", Down: euDown}
		if id%2 == 1 {
			o = Order{ID: id, Region: "us", Down: usUp}
		}
		fmt.Println(o.Region, o.ID, p.SubmitWait(ctx, o))
	}
	_ = p.Shutdown(ctx)
	for _, k := range p.Stats().Breaker.States {
		fmt.Println(k.Key, k.State)
	}
	// Output:
	// eu 0 payment service unavailable
	// us 1 <nil>
	// eu 2 payment service unavailable
	// us 3 <nil>
	// eu 4 poolgen: circuit open
	// us 5 <nil>
	// eu open
	// us closed
}

// With Hold, tasks whose breaker is open wait for it off the workers,
// keeping their queue slot, instead of failing fast.
func ExampleBreakerPolicy_hold() {
	p, err := templates.NewFixedPool[Order](
		poolrt.Workers(1),
		poolrt.Breaker(poolrt.BreakerPolicy{Failures: 1, Cooldown: 20 * time.Millisecond, Hold: true}),
		poolrt.OnError(func(error) {}))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	down := new(atomic.Bool)
	down.Store(true)
	_ = p.SubmitWait(ctx, Order{ID: 0, Region: "eu", Down: down}) // opens the breaker
	done := make(chan error)
	go func() { done <- p.SubmitWait(ctx, Order{ID: 1, Region: "eu", Down: down}) }()
	for p.Stats().Breaker.Holding == 0 {
		time.Sleep(time.Millisecond) // until a worker has taken it and held it
	}
	fmt.Println("holding:", p.Stats().Breaker.Holding)
	down.Store(false)
	fmt.Println("held order:", <-done)
	_ = p.Shutdown(ctx)
	// Output:
	// holding: 1
	// held order: <nil>
}
