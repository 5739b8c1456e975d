package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/alitto/pond/v2"
	"github.com/bytedance/gopkg/util/gopool"
	"github.com/gammazero/workerpool"
	"github.com/panjf2000/ants/v2"
	concpool "github.com/sourcegraph/conc/pool"
	"golang.org/x/sync/errgroup"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// This file holds the contestants written once for every task type: the
// generic poolgen pool and the peers, which take any T. Contestants that
// are written per task type (poolgen's generated pools, and the
// hand-written baselines of the tiny workloads, which must call Run
// directly) are in generated_test.go and handwritten_test.go. lineup puts a
// workload's contestants in order.

// task is the constraint every benchmark task satisfies.
type task interface {
	Run(ctx context.Context) error
}

// lineup orders a workload's contestants: the poolgen pools first
// (generated, then generic: every report ratio is to the generated pool),
// then the peers, then the hand-written baselines.
func lineup[T task](generated []poolgenImpl[T], handwritten []contestant[T]) []contestant[T] {
	var cs []contestant[T]
	for _, impl := range poolgenImpls(generated) {
		cs = append(cs, impl.contestant("", nil))
	}
	cs = append(cs, peers[T]()...)
	cs = append(cs, handwritten...)
	return cs
}

// poolgenPool is a poolgen pool (generic or generated) as the harness sees
// it.
type poolgenPool[T any] interface {
	forker[T]
	stats() poolrt.Stats
}

// poolgenImpl is one flavor of a poolgen pool for tasks of type T: the
// generic one from package templates, or one poolgen generated for T.
type poolgenImpl[T any] struct {
	name  string // "poolgen-generic", "poolgen-generated"
	start func(opts ...poolrt.Option) (poolgenPool[T], error)
}

// contestant returns the impl started with opts as a contestant named
// name+suffix. Its pools get the workload's number of workers (and queue
// size, when it asks for one); start fails if a pool reports another
// number of workers.
func (impl poolgenImpl[T]) contestant(suffix string, opts []poolrt.Option) contestant[T] {
	return contestant[T]{name: impl.name + suffix, start: func(cfg config) (pool[T], error) {
		all := []poolrt.Option{poolrt.Workers(cfg.workers)}
		if cfg.queue > 0 {
			all = append(all, poolrt.QueueSize(cfg.queue))
		}
		all = append(all, cfg.opts...)
		all = append(all, opts...)
		p, err := impl.start(all...)
		if err != nil {
			return nil, err
		}
		if w := p.stats().Workers; w != cfg.workers {
			_ = p.close()
			return nil, fmt.Errorf("pool has %d workers, want %d", w, cfg.workers)
		}
		return p, nil
	}}
}

// poolgenImpls returns every poolgen fixed pool for T: the generated ones,
// then the generic one.
func poolgenImpls[T task](generated []poolgenImpl[T]) []poolgenImpl[T] {
	return append(generated[:len(generated):len(generated)], genericImpl[T]())
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

// peers returns the other libraries' pools and plain goroutines, in the
// order they appear in the results.
func peers[T task]() []contestant[T] {
	return []contestant[T]{
		{name: "ants-func", start: startAntsFunc[T], blocking: true},
		{name: "ants-withfunc", start: startAntsWithFunc[T], blocking: true},
		{name: "ants-funcgeneric", start: startAntsGeneric[T], blocking: true},
		{name: "pond-go", start: startPond[T](false)},
		{name: "pond-submit", start: startPond[T](true)},
		{name: "workerpool", start: startWorkerpool[T]},
		{name: "conc", start: startConc[T], blocking: true,
			noFork: "conc's Go blocks while all workers are busy and has no non-blocking variant: workers that fork all block in Go, and the pool deadlocks"},
		{name: "errgroup", start: startErrgroup[T], blocking: true},
		{name: "gopool", start: startGopool[T]},
		{name: "go-waitgroup", start: startGo[T]},
		{name: "chan", start: startChan[T]},
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

func (a *fixedPool[T]) submit(ctx context.Context, t T) error { return a.p.Submit(ctx, t) }

// fork queues t unless the queue is full, and then runs it here: what
// poolrt.OnFull(poolrt.CallerRuns) does for Submit.
func (a *fixedPool[T]) fork(ctx context.Context, t T) {
	if a.p.TrySubmit(t) != nil {
		_ = t.Run(ctx)
	}
}

func (a *fixedPool[T]) close() error { return a.p.Shutdown(context.Background()) }

func (a *fixedPool[T]) stats() poolrt.Stats { return a.p.Stats() }

// antsFunc adapts ants.Pool: one closure per task, Submit(func()).
//
// ants' defaults: Nonblocking is false and MaxBlockingTasks is 0, so Submit
// blocks (on a sync.Cond) while all n workers are busy, with no limit on
// blocked submitters; it never drops a task. There is no queue: a waiting
// task is a blocked submitter. For fork-join the pool is made with
// WithNonblocking(true) and a fork that gets ErrPoolOverload runs inline.
// A background goroutine purges idle workers every second (ExpiryDuration)
// and another caches the clock; ReleaseTimeout stops both.
type antsFunc[T task] struct{ p *ants.Pool }

func antsOptions(cfg config) []ants.Option {
	if cfg.nested {
		return []ants.Option{ants.WithNonblocking(true)}
	}
	return nil
}

func startAntsFunc[T task](cfg config) (pool[T], error) {
	p, err := ants.NewPool(cfg.workers, antsOptions(cfg)...)
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

func (a *antsFunc[T]) submit(ctx context.Context, t T) error {
	return a.p.Submit(func() { _ = t.Run(ctx) })
}

func (a *antsFunc[T]) fork(ctx context.Context, t T) {
	if err := a.p.Submit(func() { _ = t.Run(ctx) }); errors.Is(err, ants.ErrPoolOverload) {
		_ = t.Run(ctx)
	}
}

func (a *antsFunc[T]) close() error { return a.p.ReleaseTimeout(10 * time.Second) }

// antsWithFunc adapts ants.PoolWithFunc: one func(any) for the pool,
// Invoke(t) per task, t boxed in an interface (an allocation unless T is
// pointer-shaped) and asserted back in the worker. Same defaults as
// antsFunc.
type antsWithFunc[T task] struct{ p *ants.PoolWithFunc }

func startAntsWithFunc[T task](cfg config) (pool[T], error) {
	ctx := context.Background()
	p, err := ants.NewPoolWithFunc(cfg.workers, func(arg any) { _ = arg.(T).Run(ctx) }, antsOptions(cfg)...)
	if err != nil {
		return nil, err
	}
	return &antsWithFunc[T]{p}, nil
}

func (a *antsWithFunc[T]) submitN(ctx context.Context, t T, n int) error {
	for range n {
		if err := a.p.Invoke(t); err != nil {
			return err
		}
	}
	return nil
}

func (a *antsWithFunc[T]) submit(ctx context.Context, t T) error { return a.p.Invoke(t) }

func (a *antsWithFunc[T]) fork(ctx context.Context, t T) {
	if err := a.p.Invoke(t); errors.Is(err, ants.ErrPoolOverload) {
		_ = t.Run(ctx)
	}
}

func (a *antsWithFunc[T]) close() error { return a.p.ReleaseTimeout(10 * time.Second) }

// antsGeneric adapts ants.PoolWithFuncGeneric[T]: one function for the
// pool, Invoke(t) per task. Same defaults as antsFunc.
type antsGeneric[T task] struct{ p *ants.PoolWithFuncGeneric[T] }

func startAntsGeneric[T task](cfg config) (pool[T], error) {
	ctx := context.Background()
	p, err := ants.NewPoolWithFuncGeneric(cfg.workers, func(t T) { _ = t.Run(ctx) }, antsOptions(cfg)...)
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

func (a *antsGeneric[T]) submit(ctx context.Context, t T) error { return a.p.Invoke(t) }

func (a *antsGeneric[T]) fork(ctx context.Context, t T) {
	if err := a.p.Invoke(t); errors.Is(err, ants.ErrPoolOverload) {
		_ = t.Run(ctx)
	}
}

func (a *antsGeneric[T]) close() error { return a.p.ReleaseTimeout(10 * time.Second) }

// pondPool adapts pond v2's pool: Go(func()) (no result) or, with future
// set, Submit(func()) Task (a future per task, which the harness drops).
// pond's default queue is unbounded and its default Go never blocks: a
// waiting task is a closure in pond's linked buffer. Workers are
// goroutines started per burst of work and exit when the queue is empty.
type pondPool[T task] struct {
	p      pond.Pool
	future bool
}

func startPond[T task](future bool) func(cfg config) (pool[T], error) {
	return func(cfg config) (pool[T], error) {
		return &pondPool[T]{pond.NewPool(cfg.workers), future}, nil
	}
}

func (a *pondPool[T]) submitN(ctx context.Context, t T, n int) error {
	if a.future {
		for range n {
			a.p.Submit(func() { _ = t.Run(ctx) })
		}
		return nil
	}
	for range n {
		if err := a.p.Go(func() { _ = t.Run(ctx) }); err != nil {
			return err
		}
	}
	return nil
}

func (a *pondPool[T]) submit(ctx context.Context, t T) error { return a.submitN(ctx, t, 1) }

// fork submits as usual: with an unbounded queue, Go never blocks.
func (a *pondPool[T]) fork(ctx context.Context, t T) {
	if a.submit(ctx, t) != nil {
		_ = t.Run(ctx)
	}
}

func (a *pondPool[T]) close() error {
	a.p.StopAndWait()
	return nil
}

// workerPool adapts gammazero/workerpool: Submit(func()) never blocks; a
// dispatcher goroutine moves tasks from an unbuffered channel into an
// unbounded deque and hands them to up to n workers, which exit after 2 s
// idle. StopWait runs everything queued and stops every goroutine.
type workerPool[T task] struct{ p *workerpool.WorkerPool }

func startWorkerpool[T task](cfg config) (pool[T], error) {
	return &workerPool[T]{workerpool.New(cfg.workers)}, nil
}

func (a *workerPool[T]) submitN(ctx context.Context, t T, n int) error {
	for range n {
		a.p.Submit(func() { _ = t.Run(ctx) })
	}
	return nil
}

func (a *workerPool[T]) submit(ctx context.Context, t T) error {
	a.p.Submit(func() { _ = t.Run(ctx) })
	return nil
}

func (a *workerPool[T]) fork(ctx context.Context, t T) { _ = a.submit(ctx, t) }

func (a *workerPool[T]) close() error {
	a.p.StopWait()
	return nil
}

// concPool adapts sourcegraph/conc's pool.Pool with WithMaxGoroutines(n):
// Go starts a worker while fewer than n run, else hands the task over an
// unbuffered channel, blocking until a worker takes it: a waiting task is
// a blocked submitter. Wait waits for every task and stops the workers;
// the pool cannot be reused after it.
type concPool[T task] struct{ p *concpool.Pool }

func startConc[T task](cfg config) (pool[T], error) {
	return &concPool[T]{concpool.New().WithMaxGoroutines(cfg.workers)}, nil
}

func (a *concPool[T]) submitN(ctx context.Context, t T, n int) error {
	for range n {
		a.p.Go(func() { _ = t.Run(ctx) })
	}
	return nil
}

func (a *concPool[T]) submit(ctx context.Context, t T) error {
	a.p.Go(func() { _ = t.Run(ctx) })
	return nil
}

func (a *concPool[T]) close() error {
	a.p.Wait()
	return nil
}

// errGroup adapts golang.org/x/sync/errgroup.Group with SetLimit(n): Go
// starts a goroutine per task once fewer than n run, blocking until one
// finishes: a waiting task is a blocked submitter. Task errors are
// ignored, as by every other adapter. TryGo is the non-blocking fork.
type errGroup[T task] struct{ g *errgroup.Group }

func startErrgroup[T task](cfg config) (pool[T], error) {
	g := new(errgroup.Group)
	g.SetLimit(cfg.workers)
	return &errGroup[T]{g}, nil
}

func (a *errGroup[T]) submitN(ctx context.Context, t T, n int) error {
	for range n {
		a.g.Go(func() error { _ = t.Run(ctx); return nil })
	}
	return nil
}

func (a *errGroup[T]) submit(ctx context.Context, t T) error {
	a.g.Go(func() error { _ = t.Run(ctx); return nil })
	return nil
}

func (a *errGroup[T]) fork(ctx context.Context, t T) {
	if !a.g.TryGo(func() error { _ = t.Run(ctx); return nil }) {
		_ = t.Run(ctx)
	}
}

func (a *errGroup[T]) close() error { return a.g.Wait() }

// goPool adapts bytedance/gopkg's gopool: Go(func()) never blocks; tasks
// wait in an unbounded linked list of pooled task records, and up to n
// workers (started when tasks arrive, ScaleThreshold 1) exit when the list
// is empty. gopool has no shutdown or wait: close waits until every worker
// has exited. Panics are recovered and logged by gopool.
type goPool[T task] struct{ p gopool.Pool }

func startGopool[T task](cfg config) (pool[T], error) {
	return &goPool[T]{gopool.NewPool("bench", int32(cfg.workers), gopool.NewConfig())}, nil
}

func (a *goPool[T]) submitN(ctx context.Context, t T, n int) error {
	for range n {
		a.p.Go(func() { _ = t.Run(ctx) })
	}
	return nil
}

func (a *goPool[T]) submit(ctx context.Context, t T) error {
	a.p.Go(func() { _ = t.Run(ctx) })
	return nil
}

func (a *goPool[T]) fork(ctx context.Context, t T) { _ = a.submit(ctx, t) }

func (a *goPool[T]) close() error {
	deadline := time.Now().Add(10 * time.Second)
	for a.p.WorkerCount() > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("gopool: %d workers still running after 10s", a.p.WorkerCount())
		}
		time.Sleep(100 * time.Microsecond)
	}
	return nil
}

// goWG starts a goroutine per task, tracked by one sync.WaitGroup. It has no
// workers to size: parallelism is bounded by GOMAXPROCS alone.
type goWG[T task] struct{ wg sync.WaitGroup }

func startGo[T task](config) (pool[T], error) { return new(goWG[T]), nil }

func (a *goWG[T]) submitN(ctx context.Context, t T, n int) error {
	for range n {
		a.wg.Go(func() { _ = t.Run(ctx) })
	}
	return nil
}

func (a *goWG[T]) submit(ctx context.Context, t T) error {
	a.wg.Go(func() { _ = t.Run(ctx) })
	return nil
}

func (a *goWG[T]) fork(ctx context.Context, t T) { _ = a.submit(ctx, t) }

func (a *goWG[T]) close() error {
	a.wg.Wait()
	return nil
}

// chanCap is the default queue capacity of the hand-written channel pools.
const chanCap = 1024

// chanPool is the simplest fixed pool a Go programmer writes by hand: a
// buffered chan T drained by n workers. This generic version serves the
// workloads whose tasks take a microsecond or more; for the tiny ones,
// where calling Run through the generic dictionary would show, there are
// per-type copies in handwritten_test.go. A fork finding the channel full
// runs the task inline.
type chanPool[T task] struct {
	ch chan T
	wg sync.WaitGroup
}

func startChan[T task](cfg config) (pool[T], error) {
	p := &chanPool[T]{ch: make(chan T, max(cfg.queue, chanCap))}
	ctx := context.Background()
	for range cfg.workers {
		p.wg.Go(func() {
			for t := range p.ch {
				_ = t.Run(ctx)
			}
		})
	}
	return p, nil
}

func (p *chanPool[T]) submitN(ctx context.Context, t T, n int) error {
	for range n {
		p.ch <- t
	}
	return nil
}

func (p *chanPool[T]) submit(ctx context.Context, t T) error {
	p.ch <- t
	return nil
}

func (p *chanPool[T]) fork(ctx context.Context, t T) {
	select {
	case p.ch <- t:
	default:
		_ = t.Run(ctx)
	}
}

func (p *chanPool[T]) close() error {
	close(p.ch)
	p.wg.Wait()
	return nil
}

// inline runs every task on the submitting goroutine: no pool. With one
// submitter it is the sequential time of the work, with GOMAXPROCS
// submitters the ideal parallel one; forks recurse.
type inline[T task] struct{}

func startInline[T task](config) (pool[T], error) { return inline[T]{}, nil }

func (inline[T]) submitN(ctx context.Context, t T, n int) error {
	for range n {
		_ = t.Run(ctx)
	}
	return nil
}

func (inline[T]) submit(ctx context.Context, t T) error { return t.Run(ctx) }

func (inline[T]) fork(ctx context.Context, t T) { _ = t.Run(ctx) }

func (inline[T]) close() error { return nil }
