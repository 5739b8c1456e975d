// Package batch has batch task types: one grouped by a tagged key, one
// without a key, and one that is also run by a fixed pool.
package batch

import (
	"context"
	"time"
)

// Order is saved in batches of one customer's orders.
//
//poolgen:pools batch
//poolgen:batch SaveOrders
type Order struct {
	ID       int
	Customer string `poolgen:"batchkey"`
}

// SaveOrders writes a batch of one customer's orders.
func SaveOrders(ctx context.Context, batch []Order) error { return nil }

// Event is logged in batches, whatever its source.
//
//poolgen:pools fixed,batch
//poolgen:batch logEvents
type Event struct {
	At  time.Time
	Msg string
}

func (e *Event) Run(ctx context.Context) error { return nil }

func logEvents(ctx context.Context, batch []*Event) error { return nil }
