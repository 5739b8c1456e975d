package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/poolgen/poolgen/bench/tasks"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// BenchmarkBatch: workload 6, per-item cost when items are grouped 1, 8,
// 64 or 512 per handler call (tasks.HandleItems: a few ns of work per
// item, one count per call). One submitter, GOMAXPROCS workers; ns/op is
// per item, from submission to completion; items/call is the mean group
// size the handler actually got.
//
//	poolgen-generated, poolgen-generic  poolgen's batch pool
//	    (tasks.ItemBatchPool, templates.BatchPool) with MaxBatch(size) and
//	    a Linger of a second, so every batch is full: Submit per item
//	chan-batch  hand-written: a chan Item whose workers take one item,
//	    then up to size-1 more that are already waiting, and call the
//	    handler (groups can be smaller than size)
//	every other row  the submitter groups size items into a slice (from
//	    a sync.Pool) and submits one task per group, which calls the
//	    handler: the fixed pools and peers do not batch by themselves
//
// The last group is padded to size items, so every call gets size items
// (chan-batch aside); ns/op divides by b.N.
func BenchmarkBatch(b *testing.B) {
	for _, k := range []int{1, 8, 64, 512} {
		b.Run(fmt.Sprintf("size=%d", k), func(b *testing.B) {
			for _, c := range batchContestants() {
				b.Run("impl="+c.name, func(b *testing.B) { batchRun(b, c, k) })
			}
		})
	}
}

// batcher is one contestant of the batch workload, which submits items
// rather than tasks.
type batcher struct {
	name  string
	start func(workers, size int, opts ...poolrt.Option) (batchPool, error)
}

// batchPool is a started batcher.
type batchPool interface {
	// submitItems submits n items carrying c.
	submitItems(ctx context.Context, c *tasks.ItemCounter, n int) error
	close() error
}

// batchContestants lists the batch workload's contestants: poolgen's batch
// pools, then every fixed pool and peer fed groups, then chan-batch.
func batchContestants() []batcher {
	bs := []batcher{
		{"poolgen-generated", startGenItem},
		{"poolgen-generic", startGenericItem},
	}
	grouped := append([]contestant[group]{genericImpl[group]().contestant("-fixed", nil)}, peers[group]()...)
	for _, c := range grouped {
		bs = append(bs, batcher{c.name, func(workers, size int, _ ...poolrt.Option) (batchPool, error) {
			p, err := c.start(config{workers: workers})
			if err != nil {
				return nil, err
			}
			return &groupPool{p: p, size: size}, nil
		}})
	}
	return append(bs, batcher{"chan-batch", startChanBatch})
}

func batchRun(b *testing.B, c batcher, size int) {
	b.ReportAllocs()
	p, err := c.start(gomaxprocs(), size)
	if err != nil {
		b.Fatalf("%s: start: %v", c.name, err)
	}
	counter := new(tasks.ItemCounter)
	ctx := context.Background()
	n := (b.N + size - 1) / size * size // whole groups
	b.ResetTimer()
	if err := p.submitItems(ctx, counter, n); err != nil {
		b.Fatalf("%s: submit: %v", c.name, err)
	}
	if err := waitCount(&counter.Counter, int64(n), 30*time.Second); err != nil {
		b.Fatalf("%s: %v", c.name, err)
	}
	b.StopTimer()
	if err := p.close(); err != nil {
		b.Fatalf("%s: close: %v", c.name, err)
	}
	if got, sum := counter.Load(), counter.Sum(); got != int64(n) || sum != uint64(n) {
		b.Fatalf("%s: %d items handled (sum %d), want each of %d exactly once", c.name, got, sum, n)
	}
	b.ReportMetric(float64(n)/float64(counter.Calls()), "items/call")
}

// batchOptions makes every batch of a poolgen batch pool a full one.
func batchOptions(workers, size int, opts []poolrt.Option) []poolrt.Option {
	return append([]poolrt.Option{poolrt.Workers(workers), poolrt.MaxBatch(size), poolrt.Linger(time.Second)}, opts...)
}

// genItem adapts the generated tasks.ItemBatchPool.
type genItem struct{ p *tasks.ItemBatchPool }

func startGenItem(workers, size int, opts ...poolrt.Option) (batchPool, error) {
	p, err := tasks.NewItemBatchPool(batchOptions(workers, size, opts)...)
	if err != nil {
		return nil, err
	}
	return &genItem{p}, nil
}

func (a *genItem) submitItems(ctx context.Context, c *tasks.ItemCounter, n int) error {
	for range n {
		if err := a.p.Submit(ctx, tasks.Item{C: c, V: 1}); err != nil {
			return err
		}
	}
	return nil
}

func (a *genItem) close() error { return a.p.Shutdown(context.Background()) }

// genericItem adapts templates.BatchPool[tasks.Item, struct{}].
type genericItem struct {
	p *templates.BatchPool[tasks.Item, struct{}]
}

func startGenericItem(workers, size int, opts ...poolrt.Option) (batchPool, error) {
	p, err := templates.NewBatchPool[tasks.Item, struct{}](tasks.HandleItems, batchOptions(workers, size, opts)...)
	if err != nil {
		return nil, err
	}
	return &genericItem{p}, nil
}

func (a *genericItem) submitItems(ctx context.Context, c *tasks.ItemCounter, n int) error {
	for range n {
		if err := a.p.Submit(ctx, tasks.Item{C: c, V: 1}); err != nil {
			return err
		}
	}
	return nil
}

func (a *genericItem) close() error { return a.p.Shutdown(context.Background()) }

// group is a task that hands a slice of items to the handler, then
// returns the slice to its free list.
type group struct {
	items *[]tasks.Item
	free  *sync.Pool
}

func (g group) Run(ctx context.Context) error {
	err := tasks.HandleItems(ctx, *g.items)
	*g.items = (*g.items)[:0]
	g.free.Put(g.items)
	return err
}

// groupPool feeds a pool of groups: the submitter fills slices of size
// items and submits one group each.
type groupPool struct {
	p    pool[group]
	size int
	free sync.Pool
}

func (a *groupPool) submitItems(ctx context.Context, c *tasks.ItemCounter, n int) error {
	for i := 0; i < n; i += a.size {
		items, _ := a.free.Get().(*[]tasks.Item)
		if items == nil {
			s := make([]tasks.Item, 0, a.size)
			items = &s
		}
		for range a.size {
			*items = append(*items, tasks.Item{C: c, V: 1})
		}
		if err := a.p.submit(ctx, group{items, &a.free}); err != nil {
			return err
		}
	}
	return nil
}

func (a *groupPool) close() error { return a.p.close() }

// chanBatch is the batcher a Go programmer writes by hand: a chan Item
// whose workers take one item (waiting for it), then whatever more is
// already queued, up to size items, and hand them to the handler.
type chanBatch struct {
	ch chan tasks.Item
	wg sync.WaitGroup
}

func startChanBatch(workers, size int, _ ...poolrt.Option) (batchPool, error) {
	p := &chanBatch{ch: make(chan tasks.Item, max(chanCap, 2*size))}
	ctx := context.Background()
	for range workers {
		p.wg.Go(func() {
			buf := make([]tasks.Item, 0, size)
			for it := range p.ch {
				buf = append(buf[:0], it)
			more:
				for len(buf) < size {
					select {
					case it, ok := <-p.ch:
						if !ok {
							break more
						}
						buf = append(buf, it)
					default:
						break more
					}
				}
				_ = tasks.HandleItems(ctx, buf)
			}
		})
	}
	return p, nil
}

func (p *chanBatch) submitItems(ctx context.Context, c *tasks.ItemCounter, n int) error {
	for range n {
		p.ch <- tasks.Item{C: c, V: 1}
	}
	return nil
}

func (p *chanBatch) close() error {
	close(p.ch)
	p.wg.Wait()
	return nil
}
