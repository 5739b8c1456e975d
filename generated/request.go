package generated

import (
	"context"
	"time"
)

//go:generate go run github.com/poolgen/poolgen/cmd/poolgen -type=Request

// Request is an example fair task: API requests of many customers sharing
// one set of workers (RequestFairPool), so that one customer's burst
// cannot starve the others. Its tenant is the Customer field, tagged,
// which the generated pool reads directly; so is its own timeout, the
// Budget field.
//
//poolgen:pools fair
type Request struct {
	ID       int
	Customer string `poolgen:"tenant"`
	Work     time.Duration
	// Budget, if positive, bounds the request's run: its context is
	// canceled Budget after it starts (poolrt.TaskTimeout, per task).
	Budget time.Duration `poolgen:"timeout"`
	// Done, if non-nil, receives the request's ID when it has been served.
	Done chan<- int
}

// Run "serves" the request: it takes Work.
func (r Request) Run(ctx context.Context) error {
	if r.Work > 0 {
		select {
		case <-time.After(r.Work):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if r.Done != nil {
		r.Done <- r.ID
	}
	return nil
}
