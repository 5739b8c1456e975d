package poolrt_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// Fetch stands for a call to a dependency that may hang: it waits for its
// reply, or for its context to end.
type Fetch struct {
	Reply chan error
	// Limit, if positive, is this fetch's own timeout.
	Limit time.Duration
}

func (f Fetch) Run(ctx context.Context) error {
	select {
	case err := <-f.Reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Timeout gives a fetch its own timeout, overriding the pool's.
func (f Fetch) Timeout() time.Duration { return f.Limit }

// TaskTimeout cancels the context of a task that runs too long; the task's
// error then wraps context.DeadlineExceeded and Stats counts it. A task's
// Timeout method overrides the pool's timeout.
func ExampleTaskTimeout() {
	p, err := templates.NewFixedPool[Fetch](poolrt.TaskTimeout(20 * time.Millisecond))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	hung := make(chan error) // nobody replies
	err = p.SubmitWait(ctx, Fetch{Reply: hung})
	fmt.Println(errors.Is(err, context.DeadlineExceeded))

	err = p.SubmitWait(ctx, Fetch{Reply: hung, Limit: time.Millisecond})
	fmt.Println(errors.Is(err, context.DeadlineExceeded))

	p.Shutdown(ctx)
	fmt.Println("timed out:", p.Stats().TimedOut)
	// Output:
	// true
	// true
	// timed out: 2
}

// Watchdog reports a task that hangs while it still runs, so a stuck
// dependency shows before the queue fills: here the fetch waits for a
// reply that comes only once the watchdog has spoken.
func ExampleWatchdog() {
	stuck := make(chan poolrt.StuckTask, 1)
	p, err := templates.NewFixedPool[Fetch](poolrt.Name("fetches"), poolrt.Workers(1),
		poolrt.Watchdog(20*time.Millisecond, func(st poolrt.StuckTask) { stuck <- st }))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	reply := make(chan error, 1)
	if err := p.Submit(ctx, Fetch{Reply: reply}); err != nil {
		panic(err)
	}
	st := <-stuck
	fmt.Println(st.Pool, st.Pattern, "worker", st.Worker, st.Running >= 20*time.Millisecond)
	fmt.Println("stuck now:", p.Stats().Stuck)
	reply <- nil // the dependency answers at last
	p.Shutdown(ctx)
	fmt.Println("reported:", p.Stats().StuckTasks)
	// Output:
	// fetches fixed worker 0 true
	// stuck now: 1
	// reported: 1
}
