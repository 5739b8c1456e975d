// Package router has task types that a router sends by class: one with a
// tagged class field that is also batched by a key of another type, and
// one with a Class method returning a type of its own.
package router

import "context"

// Order is saved in batches of one customer's orders, routed by region.
//
//poolgen:pools fixed,batch,router
//poolgen:batch SaveOrders
type Order struct {
	ID       int
	Region   string `poolgen:"class"`
	Customer int    `poolgen:"batchkey"`
}

func (o Order) Run(ctx context.Context) error { return nil }

// SaveOrders writes a batch of one customer's orders.
func SaveOrders(ctx context.Context, batch []Order) error { return nil }

// Tier is a class of Fetch.
type Tier uint8

// Fetch is routed by its tier.
//
//poolgen:pools dynamic,router
type Fetch struct {
	URL  string
	tier Tier
}

func (f *Fetch) Run(ctx context.Context) error { return nil }

// Class returns f's tier.
func (f *Fetch) Class() Tier { return f.tier }
