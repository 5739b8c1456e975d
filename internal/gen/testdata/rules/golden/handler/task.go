// Package handler is a task type batched by a tagged key. Its golden
// shows: the key type parameter written as the key's type (K becomes
// string), the handler's field, parameter and element removed with the
// nil check of it (and the import that only the nil check used), the
// handler's call made a call of SaveOrders, and BatchKey read from the
// tagged field.
package handler

import "context"

// Order is saved in batches of one customer's orders.
//
//poolgen:pools batch
//poolgen:batch SaveOrders
type Order struct {
	ID       int
	Customer string `poolgen:"batchkey"`
}

// SaveOrders saves a batch of one customer's orders.
func SaveOrders(ctx context.Context, batch []Order) error { return nil }
