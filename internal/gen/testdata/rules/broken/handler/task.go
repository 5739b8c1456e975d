// Package handler is a task type for templates that break rule handler.
package handler

import "context"

// Order is saved in batches.
//
//poolgen:pools batch
//poolgen:batch saveOrders
type Order struct{ ID int }

func saveOrders(ctx context.Context, batch []Order) error { return nil }
