package poolrt_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// requestIDKey is the context key under which a service keeps a
// request's ID.
type requestIDKey struct{}

// Audit writes an audit record under the ID of the request it serves,
// which it finds in its context.
type Audit struct{ Out chan string }

func (a Audit) Run(ctx context.Context) error {
	id, _ := ctx.Value(requestIDKey{}).(string)
	a.Out <- "audit for request " + id
	return nil
}

// PropagateContext passes the values of the submitter's context (a
// request ID, a trace span) on to Run's context.
func ExamplePropagateContext() {
	p, err := templates.NewFixedPool[Audit](poolrt.PropagateContext())
	if err != nil {
		panic(err)
	}
	out := make(chan string, 1)
	ctx := context.WithValue(context.Background(), requestIDKey{}, "r-42")
	if err := p.Submit(ctx, Audit{Out: out}); err != nil {
		panic(err)
	}
	fmt.Println(<-out)
	p.Shutdown(context.Background())
	// Output:
	// audit for request r-42
}

// PropagateDeadline also ends a task at its submitter's deadline: a
// request's budget bounds the work done for it, counted as a timeout.
func ExamplePropagateDeadline() {
	failed := make(chan error, 1)
	p, err := templates.NewFixedPool[Fetch](poolrt.PropagateDeadline(),
		poolrt.OnTaskError(func(_ Fetch, err error) { failed <- err }))
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	hung := make(chan error) // nobody replies
	if err := p.Submit(ctx, Fetch{Reply: hung}); err != nil {
		panic(err)
	}
	fmt.Println(errors.Is(<-failed, context.DeadlineExceeded))
	p.Shutdown(context.Background())
	fmt.Println("timed out:", p.Stats().TimedOut)
	// Output:
	// true
	// timed out: 1
}
