// Package shedload measures load shedding (poolrt.Shed) under overload:
// it offers a pool of any pattern a fixed rate of tasks open-loop and
// reports the queue wait of the admitted tasks (submit to start, every
// task timed, not sampled) and the throughput. cmd/shed runs it in real
// time; the module's TestShedVirtual runs it in a testing/synctest
// bubble, where time is virtual and the machine's load adds nothing.
//
// Tasks sleep rather than spin, for a time drawn uniformly from
// [Task/2, 3·Task/2] (seeded: every run draws the same), so that a pool's
// capacity is its workers over the mean task time, whatever else the
// machine does; a batch pool's handler sleeps that long per batch of
// MaxBatch tasks.
package shedload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// Patterns are the pool patterns Run measures.
var Patterns = []string{"fixed", "dynamic", "stealing", "priority", "batch"}

// Config is one measurement.
type Config struct {
	Pattern string
	Workers int
	// MaxBatch is the batch pool's batch size.
	MaxBatch int
	// Task is the mean task time (a batch's, for the batch pool).
	Task time.Duration
	// Rate is the offered load, in tasks per second.
	Rate float64
	// Run is the length of the run and Warm its start left out of the
	// figures (the interval the controller needs to tell a standing queue
	// from a burst, and the draining of the backlog built meanwhile).
	Run, Warm time.Duration
	// Options are added to the pool's: a queue too deep to fill in a
	// run (QueueSize(1<<20)) comes first, so that without shedding the
	// backlog grows for the whole run.
	Options []poolrt.Option
}

// Capacity returns the tasks a second a pool of c can run: its workers
// over the mean task time (times MaxBatch for the batch pool).
func (c Config) Capacity() float64 {
	n := float64(c.Workers) / c.Task.Seconds()
	if c.Pattern == "batch" {
		n *= float64(c.MaxBatch)
	}
	return n
}

// Result is a run's figures over its measured window.
type Result struct {
	Offered, Admitted int     // submissions in the window
	Throughput        float64 // tasks completed per second in the window
	P50, P99, Max     time.Duration
	// TransientMax is the longest wait of a task admitted before the
	// window.
	TransientMax time.Duration
	Shed         uint64 // Stats.Shed at the end
}

// recorder keeps what the tasks of one run report.
type recorder struct {
	epoch time.Time
	wait  []int64 // by task, nanoseconds; -1: not started
	end   []int64 // by task, nanoseconds since epoch; -1: not ended
}

func (r *recorder) now() int64 { return int64(time.Since(r.epoch)) }

// job is the task: it records its wait, sleeps d, records its end.
type job struct {
	i   int32
	sub int64 // submission, nanoseconds since the recorder's epoch
	d   time.Duration
	r   *recorder
}

func (j job) Run(context.Context) error {
	j.start()
	time.Sleep(j.d)
	j.finish()
	return nil
}

func (j job) start()  { j.r.wait[j.i] = j.r.now() - j.sub }
func (j job) finish() { j.r.end[j.i] = j.r.now() }

func (job) Priority() int64    { return 0 }
func (job) BatchKey() struct{} { return struct{}{} }

func handleBatch(_ context.Context, b []job) error {
	for _, j := range b {
		j.start()
	}
	time.Sleep(b[0].d)
	for _, j := range b {
		j.finish()
	}
	return nil
}

// pool is what a run needs of a pool.
type pool interface {
	Submit(ctx context.Context, t job) error
	Shutdown(ctx context.Context) error
	Stats() poolrt.Stats
}

func newPool(c Config) (pool, error) {
	opts := append([]poolrt.Option{poolrt.QueueSize(1 << 20)}, c.Options...)
	switch c.Pattern {
	case "fixed":
		return templates.NewFixedPool[job](append(opts, poolrt.Workers(c.Workers))...)
	case "dynamic":
		return templates.NewDynamicPool[job](append(opts, poolrt.WorkerLimits(c.Workers, c.Workers))...)
	case "stealing":
		return templates.NewStealingPool[job](append(opts, poolrt.Workers(c.Workers))...)
	case "priority":
		return templates.NewPriorityPool[job](append(opts, poolrt.Workers(c.Workers))...)
	case "batch":
		return templates.NewBatchPool[job, struct{}](handleBatch, append(opts, poolrt.Workers(c.Workers), poolrt.MaxBatch(c.MaxBatch), poolrt.Linger(0))...)
	}
	return nil, fmt.Errorf("shedload: unknown pattern %q", c.Pattern)
}

// Run offers c.Rate tasks a second to a new pool for c.Run and returns
// the figures. trace, if not nil, is called every 25ms with the pool's
// Stats.
func Run(c Config, trace func(at time.Duration, st poolrt.Stats)) (Result, error) {
	p, err := newPool(c)
	if err != nil {
		return Result{}, err
	}
	n := int(c.Rate*c.Run.Seconds()) + 1
	r := &recorder{epoch: time.Now(), wait: make([]int64, n), end: make([]int64, n)}
	for i := range n {
		r.wait[i], r.end[i] = -1, -1
	}
	sub := make([]int64, n)
	admitted := make([]bool, n)
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	gap := float64(time.Second) / c.Rate
	var stop atomic.Bool
	traced := make(chan struct{})
	go func() {
		defer close(traced)
		for trace != nil && !stop.Load() {
			time.Sleep(25 * time.Millisecond)
			trace(time.Duration(r.now()), p.Stats())
		}
	}()
	for i := 0; i < n; {
		for now := r.now(); i < n && float64(i)*gap <= float64(now); i++ {
			d := c.Task/2 + time.Duration(rng.Int64N(int64(c.Task)+1))
			sub[i] = r.now()
			err := p.Submit(ctx, job{i: int32(i), sub: sub[i], d: d, r: r})
			switch {
			case err == nil:
				admitted[i] = true
			case errors.Is(err, poolrt.ErrOverloaded):
			default:
				return Result{}, err
			}
		}
		time.Sleep(100 * time.Microsecond)
	}
	end := r.now()
	stop.Store(true)
	<-traced
	if err := p.Shutdown(ctx); err != nil {
		return Result{}, err
	}
	from := int64(c.Warm)
	res := Result{Shed: p.Stats().Shed}
	var waits []int64
	done := 0
	for i := range n {
		if e := r.end[i]; e >= from && e < end {
			done++
		}
		if !admitted[i] {
			if sub[i] >= from {
				res.Offered++
			}
			continue
		}
		if sub[i] < from {
			res.TransientMax = max(res.TransientMax, time.Duration(r.wait[i]))
			continue
		}
		res.Offered++
		res.Admitted++
		waits = append(waits, r.wait[i])
	}
	res.Throughput = float64(done) / time.Duration(end-from).Seconds()
	slices.Sort(waits)
	if len(waits) > 0 {
		res.P50 = time.Duration(waits[len(waits)/2])
		res.P99 = time.Duration(waits[len(waits)*99/100])
		res.Max = time.Duration(waits[len(waits)-1])
	}
	return res, nil
}
