package generated

import (
	"context"
	"time"
)

//go:generate go run github.com/poolgen/poolgen/cmd/poolgen -type=Ticket

// Ticket is an example priority task: support tickets answered by urgency
// (TicketPriorityPool, with aging so that low urgencies still get answered)
// or by due time (TicketDeadlinePool, earliest first). Its rank comes from
// tagged fields, which the generated pools read directly.
//
//poolgen:pools priority
type Ticket struct {
	ID      int
	Urgency int       `poolgen:"priority"`
	Due     time.Time `poolgen:"deadline"`
	Work    time.Duration
	// Done, if non-nil, receives the ticket's ID when it has been handled.
	Done chan<- int
}

// Run "answers" the ticket: it takes Work.
func (t Ticket) Run(ctx context.Context) error {
	if t.Work > 0 {
		select {
		case <-time.After(t.Work):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if t.Done != nil {
		t.Done <- t.ID
	}
	return nil
}
