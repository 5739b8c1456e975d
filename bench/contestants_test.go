package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/panjf2000/ants/v2"

	"github.com/poolgen/poolgen/bench/tasks"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// This file holds the contestants written once for every task type: the
// generic poolgen pool and the peers, which take any T. Contestants that
// must be written per task type to call Run directly (hand-written pools,
// inline, poolgen's generated pools) are in handwritten_test.go and
// generated_test.go. lineup puts a workload's contestants in order.

// task is the constraint every benchmark task satisfies.
type task interface {
	Run(ctx context.Context) error
}

// lineup orders a workload's contestants: poolgen-generic first (benchstat
// compares every column with the first), then the other poolgen rows, then
// the peers, then the hand-written baselines. generated holds the pools
// poolgen generated for T (see generated_test.go), if any.
func lineup[T task](generated []poolgenImpl[T], handwritten []contestant[T]) []contestant[T] {
	var cs []contestant[T]
	for _, impl := range poolgenImpls(generated) {
		cs = append(cs, impl.contestant("", nil), impl.contestant("-nometrics", []poolrt.Option{poolrt.Metrics(false)}))
	}
	cs = append(cs, peers[T]()...)
	cs = append(cs, handwritten...)
	return cs
}

// poolgenPool is a poolgen pool (generic or generated) as the harness sees
// it.
type poolgenPool[T any] interface {
	pool[T]
	stats() poolrt.Stats
}

// poolgenImpl is one flavour of poolgen's fixed pool for tasks of type T:
// the generic templates.FixedPool[T], or a pool poolgen generated for T.
type poolgenImpl[T any] struct {
	name  string // "poolgen-generic", "poolgen-generated"
	start func(opts ...poolrt.Option) (poolgenPool[T], error)
}

// contestant returns the impl started with opts as a contestant named
// name+suffix. opts must leave the number of workers at its default,
// GOMAXPROCS; start fails if the pool has any other number.
func (impl poolgenImpl[T]) contestant(suffix string, opts []poolrt.Option) contestant[T] {
	return contestant[T]{impl.name + suffix, func(n int) (pool[T], error) {
		p, err := impl.start(opts...)
		if err != nil {
			return nil, err
		}
		if w := p.stats().Workers; w != n {
			_ = p.close()
			return nil, fmt.Errorf("pool has %d workers, want %d", w, n)
		}
		return p, nil
	}}
}

// poolgenImpls returns every poolgen fixed pool for T: the generic one,
// then the generated ones.
func poolgenImpls[T task](generated []poolgenImpl[T]) []poolgenImpl[T] {
	return append([]poolgenImpl[T]{genericImpl[T]()}, generated...)
}

// genericImpl is the generic fixed pool, templates.FixedPool[T].
func genericImpl[T task]() poolgenImpl[T] {
	return poolgenImpl[T]{"poolgen-generic", func(opts ...poolrt.Option) (poolgenPool[T], error) {
		p, err := templates.NewFixedPool[T](opts...)
		if err != nil {
			return nil, err
		}
		return &fixedPool[T]{p}, nil
	}}
}

// peers returns the other libraries' pools and plain goroutines.
func peers[T task]() []contestant[T] {
	return []contestant[T]{
		{"ants-func", startAntsFunc[T]},
		{"ants-funcgeneric", startAntsGeneric[T]},
		{"go-waitgroup", startGo[T]},
	}
}

// fixedPool adapts templates.FixedPool[T].
type fixedPool[T task] struct{ p *templates.FixedPool[T] }

func (a *fixedPool[T]) submitN(ctx context.Context, t T, n int) error {
	for range n {
		if err := a.p.Submit(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

func (a *fixedPool[T]) close() error { return a.p.Shutdown(context.Background()) }

func (a *fixedPool[T]) stats() poolrt.Stats { return a.p.Stats() }

// antsFunc adapts ants.Pool: one closure per task, Submit(func()).
//
// ants' defaults: Nonblocking is false and MaxBlockingTasks is 0, so Submit
// blocks (on a sync.Cond) while all n workers are busy, with no limit on
// blocked submitters; it never drops a task. Any error it returns anyway
// fails the benchmark. A background goroutine purges idle workers every
// second (ExpiryDuration) and another caches the clock; both are stopped by
// ReleaseTimeout.
type antsFunc[T task] struct{ p *ants.Pool }

func startAntsFunc[T task](n int) (pool[T], error) {
	p, err := ants.NewPool(n)
	if err != nil {
		return nil, err
	}
	return &antsFunc[T]{p}, nil
}

func (a *antsFunc[T]) submitN(ctx context.Context, t T, n int) error {
	for range n {
		if err := a.p.Submit(func() { _ = t.Run(ctx) }); err != nil {
			return err
		}
	}
	return nil
}

func (a *antsFunc[T]) close() error { return a.p.ReleaseTimeout(10 * time.Second) }

// antsGeneric adapts ants.PoolWithFuncGeneric[T]: one function for the
// pool, Invoke(t) per task. Same defaults as antsFunc (blocking, no drop).
type antsGeneric[T task] struct{ p *ants.PoolWithFuncGeneric[T] }

func startAntsGeneric[T task](n int) (pool[T], error) {
	ctx := context.Background()
	p, err := ants.NewPoolWithFuncGeneric(n, func(t T) { _ = t.Run(ctx) })
	if err != nil {
		return nil, err
	}
	return &antsGeneric[T]{p}, nil
}

func (a *antsGeneric[T]) submitN(ctx context.Context, t T, n int) error {
	for range n {
		if err := a.p.Invoke(t); err != nil {
			return err
		}
	}
	return nil
}

func (a *antsGeneric[T]) close() error { return a.p.ReleaseTimeout(10 * time.Second) }

// goWG starts a goroutine per task, tracked by one sync.WaitGroup. It has no
// workers to size: parallelism is bounded by GOMAXPROCS alone.
type goWG[T task] struct{ wg sync.WaitGroup }

func startGo[T task](int) (pool[T], error) { return new(goWG[T]), nil }

func (a *goWG[T]) submitN(ctx context.Context, t T, n int) error {
	for range n {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			_ = t.Run(ctx)
		}()
	}
	return nil
}

func (a *goWG[T]) close() error {
	a.wg.Wait()
	return nil
}

// Generated pools, one list per task type, filled by generated_test.go
// when it is built (tag poolgen_generated) and empty otherwise.
var (
	generatedTiny    []poolgenImpl[tasks.Tiny]
	generatedSpin1us []poolgenImpl[tasks.Spin1us]
)
