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

// Flaky stands for a call to a dependency that fails its first calls,
// then recovers.
type Flaky struct {
	Calls    *atomic.Int32
	FailsFor int
}

func (f Flaky) Run(ctx context.Context) error {
	f.Calls.Add(1)
	if poolrt.Attempt(ctx) <= f.FailsFor {
		return errors.New("unavailable")
	}
	return nil
}

// Retry runs a failing task again after a backoff delay; Run learns its
// attempt number from its context.
func ExampleRetry() {
	p, err := templates.NewFixedPool[Flaky](poolrt.Retry(poolrt.RetryPolicy{
		MaxAttempts: 5, Initial: time.Millisecond, Max: 10 * time.Millisecond,
	}))
	if err != nil {
		panic(err)
	}
	calls := new(atomic.Int32)
	err = p.SubmitWait(context.Background(), Flaky{Calls: calls, FailsFor: 2})
	_ = p.Shutdown(context.Background())
	st := p.Stats()
	fmt.Println(err, calls.Load(), st.Retries, st.RetrySucceeded)
	// Output: <nil> 3 2 1
}

// BadInput fails for good: retrying cannot help.
type BadInput struct{}

func (BadInput) Run(context.Context) error {
	return poolrt.Permanent(errors.New("malformed request"))
}

// Permanent marks an error not worth retrying: the task goes to the
// dead-letter handler after one run.
func ExamplePermanent() {
	p, err := templates.NewFixedPool[BadInput](
		poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: 3, Initial: time.Millisecond, Max: time.Millisecond}),
		poolrt.OnDeadLetter(func(_ BadInput, err error, attempts int) {
			fmt.Println("dead letter:", err, "after", attempts, "attempt(s); permanent:", poolrt.IsPermanent(err))
		}))
	if err != nil {
		panic(err)
	}
	_ = p.Submit(context.Background(), BadInput{})
	_ = p.Shutdown(context.Background())
	// Output: dead letter: malformed request after 1 attempt(s); permanent: true
}

// OnDeadLetter receives each task that failed for good, once, with its
// last error and how many times it ran.
func ExampleOnDeadLetter() {
	p, err := templates.NewFixedPool[Flaky](
		poolrt.Retry(poolrt.RetryPolicy{MaxAttempts: 3, Initial: time.Millisecond, Max: 2 * time.Millisecond}),
		poolrt.OnDeadLetter(func(f Flaky, err error, attempts int) {
			fmt.Println("dead letter:", err, "after", attempts, "attempts")
		}))
	if err != nil {
		panic(err)
	}
	_ = p.Submit(context.Background(), Flaky{Calls: new(atomic.Int32), FailsFor: 10})
	_ = p.Shutdown(context.Background()) // runs the pending retries first
	st := p.Stats()
	fmt.Println(st.Submitted == st.Completed+st.Panicked+st.DeadLettered+st.Returned)
	// Output:
	// dead letter: unavailable after 3 attempts
	// true
}
