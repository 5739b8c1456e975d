package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/poolgen/poolgen/generated"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// live is the workload of -http: the demo's pools, each with a name so
// that the exporter and the monitor show it, fed without end by one
// goroutine per pool until the feeders' context is canceled.
type live struct {
	procs, n int
	// feeders submit work to the pools until their context is done; they
	// return nil then, and an error only for an unexpected refusal.
	feeders []func(ctx context.Context) error
	// shutdowns shut the pools down, in the order they were started.
	shutdowns []func(ctx context.Context) error
	// totals counts the resizes of every pool that runs Resize tasks.
	totals generated.Totals
}

// tick is the interval at which most feeders submit a round of tasks.
const tick = 10 * time.Millisecond

// startLive starts the named pools of the live workload, sized from n as
// the one-shot demo's workloads are. If one fails to start, the others are
// shut down.
func startLive(n, procs int) (*live, error) {
	l := &live{procs: procs, n: n}
	for _, start := range []func() error{
		l.fixed, l.reject, l.guarded, l.dynamic, l.stealing, l.priority, l.deadline, l.cost, l.batch,
	} {
		if err := start(); err != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return nil, errors.Join(err, l.shutdown(ctx))
		}
	}
	return l, nil
}

// shutdown shuts every pool down, waiting for their queued tasks, and
// returns their errors joined.
func (l *live) shutdown(ctx context.Context) error {
	var errs []error
	for _, s := range l.shutdowns {
		errs = append(errs, s(ctx))
	}
	return errors.Join(errs...)
}

// add registers a started pool: its feeder, and its Shutdown.
func add[T any](l *live, p pool[T], feed func(ctx context.Context, p pool[T]) error) {
	l.feeders = append(l.feeders, func(ctx context.Context) error { return feed(ctx, p) })
	l.shutdowns = append(l.shutdowns, p.Shutdown)
}

// every calls round with 0, 1, 2, ... once per period until ctx is done
// or round returns an error.
func every(ctx context.Context, period time.Duration, round func(i int) error) error {
	t := time.NewTicker(period)
	defer t.Stop()
	for i := 0; ; i++ {
		if err := round(i); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// submitN submits tasks first..first+n-1. It stops without an error when
// ctx is done; onErr, if not nil, may forgive other errors by returning
// nil.
func submitN[T any](ctx context.Context, p pool[T], first, n int, task func(i int) T, onErr func(error) error) error {
	for i := first; i < first+n; i++ {
		err := p.Submit(ctx, task(i))
		if err != nil && ctx.Err() != nil {
			return nil // stopping: a blocked Submit gave up
		}
		if err != nil && onErr != nil {
			err = onErr(err)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// perTick is the number of tasks a fixed pool gets per tick: with the
// default -n of 200,000, 10,000 tasks a second.
func (l *live) perTick() int { return max(l.n/2000, 10) }

// fixed feeds a generated fixed pool and its generic twin resizes, every
// 1,000th failing on purpose, and bursts of thumbnails to a small-queued
// pool whose submitters run tasks themselves when it is full.
func (l *live) fixed() error {
	resize := func(i int) generated.Resize {
		src := fmt.Sprintf("img%03d.png", i%1000)
		if i%failEvery == failEvery-1 {
			src = "" // fails on purpose: counted in Failed
		}
		return generated.Resize{Src: src, Width: 64, Height: 1 + i%8, Done: &l.totals}
	}
	feed := func(ctx context.Context, p pool[generated.Resize]) error {
		n := l.perTick()
		return every(ctx, tick, func(i int) error { return submitN(ctx, p, i*n, n, resize, nil) })
	}
	gp, err := generated.NewResizeFixedPool(poolrt.Name("resize-fixed"))
	if err != nil {
		return err
	}
	add(l, gp, feed)
	tp, err := templates.NewFixedPool[generated.Resize](poolrt.Name("resize-generic"))
	if err != nil {
		return err
	}
	add(l, tp, feed)

	thumbs := make([]*generated.Thumb, 100)
	for i := range thumbs {
		thumbs[i] = &generated.Thumb{Name: fmt.Sprint("t", i), Size: 16 + i%48}
	}
	thp, err := generated.NewThumbFixedPool(poolrt.Name("thumb-callerruns"),
		poolrt.OnFull(poolrt.CallerRuns), poolrt.QueueSize(64))
	if err != nil {
		return err
	}
	add(l, thp, func(ctx context.Context, p pool[*generated.Thumb]) error {
		return every(ctx, 100*time.Millisecond, func(int) error {
			return submitN(ctx, p, 0, len(thumbs), func(i int) *generated.Thumb { return thumbs[i] }, nil)
		})
	})
	return nil
}

// reject sends bursts far larger than its queue to a one-worker pool under
// the Reject policy: it turns most of each burst away, on purpose.
func (l *live) reject() error {
	p, err := generated.NewResizeFixedPool(poolrt.Name("resize-reject"), poolrt.Workers(1),
		poolrt.QueueSize(16), poolrt.OnFull(poolrt.Reject))
	if err != nil {
		return err
	}
	forgive := func(err error) error {
		if errors.Is(err, poolrt.ErrQueueFull) {
			return nil
		}
		return err
	}
	add(l, p, func(ctx context.Context, p pool[generated.Resize]) error {
		return every(ctx, 500*time.Millisecond, func(int) error {
			return submitN(ctx, p, 0, 100, func(i int) generated.Resize {
				h := 2000
				if i == 0 {
					h = 200_000 // keeps the only worker busy while the burst arrives
				}
				return generated.Resize{Src: "burst.png", Width: 64, Height: h, Done: &l.totals}
			}, forgive)
		})
	})
	return nil
}

// guarded feeds a fixed pool whose circuit breaker opens every three
// seconds, when a run of resizes fails on purpose: the tasks that reach a
// worker while it is open fail fast, dead-lettered, until a probe after
// its cool-down succeeds. Each round also schedules a few resizes for a
// little later (SubmitAfter), which the pool takes when they are due.
func (l *live) guarded() error {
	fp, err := templates.NewFixedPool[generated.Resize](poolrt.Name("resize-breaker"), poolrt.Workers(2),
		poolrt.Breaker(poolrt.BreakerPolicy{Failures: 5, Cooldown: 500 * time.Millisecond}))
	if err != nil {
		return err
	}
	resize := func(src string) generated.Resize {
		return generated.Resize{Src: src, Width: 64, Height: 8, Done: &l.totals}
	}
	add(l, fp, func(ctx context.Context, p pool[generated.Resize]) error {
		return every(ctx, 100*time.Millisecond, func(i int) error {
			src := "guarded.png"
			if i%30 == 29 {
				src = "" // fails on purpose, and opens the breaker
			}
			if err := submitN(ctx, p, 0, 10, func(int) generated.Resize { return resize(src) }, nil); err != nil {
				return err
			}
			for range 3 {
				if err := fp.SubmitAfter(200*time.Millisecond, resize("later.png")); err != nil {
					return err
				}
			}
			return nil
		})
	})
	return nil
}

// dynamic sends a burst of slow resizes every three seconds to a dynamic
// pool: it scales up for each, and back down in the quiet between.
func (l *live) dynamic() error {
	p, err := generated.NewResizeDynamicPool(poolrt.Name("resize-dynamic"),
		poolrt.WorkerLimits(1, 4*l.procs), poolrt.ScaleInterval(50*time.Millisecond),
		poolrt.Cooldown(200*time.Millisecond))
	if err != nil {
		return err
	}
	burst := max(l.n/50, 100)
	add(l, p, func(ctx context.Context, p pool[generated.Resize]) error {
		return every(ctx, 3*time.Second, func(int) error {
			return submitN(ctx, p, 0, burst, func(int) generated.Resize {
				return generated.Resize{Src: "big.png", Width: 64, Height: 4000, Done: &l.totals}
			}, nil)
		})
	})
	return nil
}

// stealing runs a fork-join sum every half second and checks its result.
func (l *live) stealing() error {
	p, err := generated.NewSumRangeStealingPool(poolrt.Name("sum-stealing"))
	if err != nil {
		return err
	}
	hi := max(l.n, 1000) * 10
	add(l, p, func(ctx context.Context, _ pool[generated.SumRange]) error {
		return every(ctx, 500*time.Millisecond, func(int) error {
			root, total := generated.NewSumRoot()
			err := p.Submit(ctx, generated.SumRange{Lo: 0, Hi: hi, Leaf: 2_000, Out: root, Pool: p})
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			// The sum finishes even when ctx is done: Shutdown waits for it.
			if sum, want := <-total, int64(hi)*int64(hi-1)/2; sum != want {
				return fmt.Errorf("sum-stealing: sum %d, want %d", sum, want)
			}
			return nil
		})
	})
	return nil
}

// priority sends a burst of tickets, one in ten urgent, to two workers
// every second: the low urgencies wait until aging lets them through.
func (l *live) priority() error {
	p, err := generated.NewTicketPriorityPool(poolrt.Name("ticket-priority"), poolrt.Workers(2),
		poolrt.Aging(50*time.Millisecond), poolrt.Bands(5), poolrt.LatencySampling(1),
		poolrt.QueueSize(4096))
	if err != nil {
		return err
	}
	burst := max(l.n/400, 20)
	add(l, p, func(ctx context.Context, p pool[generated.Ticket]) error {
		return every(ctx, time.Second, func(int) error {
			return submitN(ctx, p, 0, burst, func(i int) generated.Ticket {
				urgency := 0
				if i%10 == 0 {
					urgency = 9
				}
				return generated.Ticket{ID: i, Urgency: urgency, Work: 50 * time.Microsecond}
			}, nil)
		})
	})
	return nil
}

// deadline runs tickets earliest deadline first; every tenth one is
// overdue when it is submitted, on purpose, and the pool drops it.
func (l *live) deadline() error {
	p, err := generated.NewTicketDeadlinePool(nil, poolrt.Name("ticket-deadline"), poolrt.Workers(2),
		poolrt.OnLate(poolrt.DropLate), poolrt.LatencySampling(1))
	if err != nil {
		return err
	}
	add(l, p, func(ctx context.Context, p pool[generated.Ticket]) error {
		return every(ctx, 100*time.Millisecond, func(int) error {
			now := time.Now()
			return submitN(ctx, p, 0, 20, func(i int) generated.Ticket {
				due := now.Add(time.Minute + time.Duration(20-i)*time.Millisecond)
				if i%10 == 0 {
					due = now.Add(-time.Millisecond) // overdue on purpose
				}
				return generated.Ticket{ID: i, Due: due, Work: 50 * time.Microsecond}
			}, nil)
		})
	})
	return nil
}

// cost runs cheap and costly resizes on two workers, cheapest first.
func (l *live) cost() error {
	const costly = 1000
	p, err := templates.NewCostPool[resizeJob](poolrt.Name("resize-cost"), poolrt.Workers(2),
		poolrt.Bands(costly), poolrt.LatencySampling(1))
	if err != nil {
		return err
	}
	add(l, p, func(ctx context.Context, p pool[resizeJob]) error {
		return every(ctx, 100*time.Millisecond, func(int) error {
			return submitN(ctx, p, 0, 50, func(i int) resizeJob {
				h := 8
				if i%10 == 0 {
					h = 4 * costly
				}
				return resizeJob{generated.Resize{Src: "mixed.png", Width: 64, Height: h, Done: &l.totals}}
			}, nil)
		})
	})
	return nil
}

// batch saves the orders of seven customers, a batch per customer.
func (l *live) batch() error {
	p, err := generated.NewOrderBatchPool(poolrt.Name("order-batch"), poolrt.MaxBatch(64),
		poolrt.Linger(2*time.Millisecond))
	if err != nil {
		return err
	}
	add(l, p, func(ctx context.Context, p pool[generated.Order]) error {
		n := max(l.perTick()/4, 10)
		return every(ctx, tick, func(i int) error {
			return submitN(ctx, p, i*n, n, func(i int) generated.Order {
				return generated.Order{ID: i, Customer: fmt.Sprint("c", i%7), Cents: 100}
			}, nil)
		})
	})
	return nil
}
