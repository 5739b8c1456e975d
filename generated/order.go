package generated

import (
	"context"
	"fmt"
	"sync"
)

//go:generate go run github.com/poolgen/poolgen/cmd/poolgen -type=Order

// Order is an example batch task: orders are saved in batches, one
// customer's orders per batch, by SaveOrders. Order needs no Run method:
// the batch pool hands whole batches to the handler.
//
//poolgen:pools batch
//poolgen:batch SaveOrders
type Order struct {
	ID       int
	Customer string `poolgen:"batchkey"`
	Cents    int64
}

// Ledger stands in for a database: SaveOrders records each batch in it.
var Ledger = &ledger{byCustomer: map[string]int64{}}

type ledger struct {
	mu         sync.Mutex
	byCustomer map[string]int64
	batches    int
	orders     int
}

// SaveOrders saves one customer's orders in one "transaction". It does not
// keep the slice: the pool reuses it.
func SaveOrders(ctx context.Context, batch []Order) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var sum int64
	for _, o := range batch {
		if o.Customer != batch[0].Customer {
			return fmt.Errorf("save orders: batch mixes customers %q and %q", batch[0].Customer, o.Customer)
		}
		sum += o.Cents
	}
	Ledger.mu.Lock()
	Ledger.byCustomer[batch[0].Customer] += sum
	Ledger.batches++
	Ledger.orders += len(batch)
	Ledger.mu.Unlock()
	return nil
}

// Reset forgets everything saved.
func (l *ledger) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.byCustomer)
	l.batches, l.orders = 0, 0
}

// Totals returns the number of batches and orders saved so far, and the
// amount saved for customer.
func (l *ledger) Totals(customer string) (batches, orders int, cents int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.batches, l.orders, l.byCustomer[customer]
}
