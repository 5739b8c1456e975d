// Package replay plays arrival traces into a real dynamic pool under
// testing/synctest, to compare scaling policies by what they cost and
// what they deliver: the tasks' wait in the queue and the worker-seconds
// the pool ran.
//
// Inside a synctest bubble time is fake: it advances only when every
// goroutine of the bubble is blocked, straight to the next timer. So a
// trace of minutes plays in a fraction of a second, tasks that sleep take
// exactly their service time, and waits are measured in that fake time,
// without the noise of the machine that runs the replay. The arrivals and
// service times come from a generator with a fixed seed, so every policy
// sees the same tasks at the same instants.
//
// Run must be called inside a synctest bubble (synctest.Test).
package replay

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// A Trace is an arrival rate that varies over time.
type Trace struct {
	Name     string
	Duration time.Duration
	// Rate returns the arrival rate, in tasks per second, at offset at
	// from the start of the trace.
	Rate func(at time.Duration) float64
	// Peak is the highest rate Rate returns: the generator thins a
	// Poisson process of that rate.
	Peak float64
}

// Diurnal is a daily curve, squeezed into a period: a cosine from low at
// "midnight" to high at "noon", repeated periods times.
func Diurnal(period time.Duration, periods int, low, high float64) Trace {
	return Trace{
		Name:     "diurnal",
		Duration: time.Duration(periods) * period,
		Peak:     high,
		Rate: func(at time.Duration) float64 {
			phase := float64(at%period) / float64(period)
			return low + (high-low)*(1-math.Cos(2*math.Pi*phase))/2
		},
	}
}

// Burst is a base rate with a burst at peak for length, starting at at
// within every period, repeated periods times: a batch job that runs at
// the same time every day.
func Burst(period time.Duration, periods int, base, peak float64, at, length time.Duration) Trace {
	return Trace{
		Name:     "burst",
		Duration: time.Duration(periods) * period,
		Peak:     max(base, peak),
		Rate: func(t time.Duration) float64 {
			if p := t % period; p >= at && p < at+length {
				return peak
			}
			return base
		},
	}
}

// Step is a rate that changes once, from from to to, at at.
func Step(d time.Duration, from, to float64, at time.Duration) Trace {
	return Trace{
		Name:     "step",
		Duration: d,
		Peak:     max(from, to),
		Rate: func(t time.Duration) float64 {
			if t < at {
				return from
			}
			return to
		},
	}
}

// RandomWalk is a rate that moves every step by a random factor between
// 1/1.25 and 1.25, within [lo, hi], starting at start; seed fixes the
// walk.
func RandomWalk(d, step time.Duration, lo, hi, start float64, seed uint64) Trace {
	rng := rand.New(rand.NewPCG(seed, 1))
	rates := make([]float64, int(d/step)+1)
	r := start
	for i := range rates {
		rates[i] = r
		r = min(max(r*math.Pow(1.25, 2*rng.Float64()-1), lo), hi)
	}
	return Trace{
		Name:     "random walk",
		Duration: d,
		Peak:     hi,
		Rate:     func(t time.Duration) float64 { return rates[min(int(t/step), len(rates)-1)] },
	}
}

// Config describes the pool and the tasks of a replay.
type Config struct {
	// Service is the tasks' mean run time; each task's is drawn from an
	// exponential distribution with that mean.
	Service time.Duration
	// Min and Max are the pool's worker limits.
	Min, Max int
	// Interval is the pool's ScaleInterval (default 100ms).
	Interval time.Duration
	// Sample is how often the pool's size is read to count its
	// worker-seconds (default 5ms).
	Sample time.Duration
	// Seed fixes the arrivals and service times.
	Seed uint64
}

// A Result is what a policy delivered on a trace.
type Result struct {
	Trace, Policy string
	Tasks         int     // tasks submitted
	Throughput    float64 // tasks finished per second of the trace
	WorkerSeconds float64 // the pool's size integrated over the trace
	// Waits are the tasks' waits in the queue, in the order they were
	// submitted, with their submission time as an offset from the
	// start.
	Waits []Wait
	// Sizes is the pool's size at every Config.Sample.
	Sizes  []int
	Sample time.Duration
}

// A Wait is one task's wait in the queue.
type Wait struct {
	At, Wait time.Duration
}

// WaitQuantile returns the q-quantile of the waits of the tasks submitted
// within [from, to) (0 when there are none).
func (r *Result) WaitQuantile(q float64, from, to time.Duration) time.Duration {
	var w []time.Duration
	for _, x := range r.Waits {
		if x.At >= from && x.At < to {
			w = append(w, x.Wait)
		}
	}
	if len(w) == 0 {
		return 0
	}
	slices.Sort(w)
	return w[min(max(int(math.Ceil(q*float64(len(w))))-1, 0), len(w)-1)]
}

// MeanSize returns the pool's mean size over [from, to).
func (r *Result) MeanSize(from, to time.Duration) float64 {
	sum, n := 0, 0
	for i, s := range r.Sizes {
		if at := time.Duration(i) * r.Sample; at >= from && at < to {
			sum += s
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(sum) / float64(n)
}

// job is a replayed task: it sleeps its service time and records its
// wait.
type job struct {
	rec     *recorder
	i       int32
	service time.Duration
}

type recorder struct {
	start    time.Time
	mu       sync.Mutex
	waits    []Wait
	finished int
	end      time.Time // the end of the trace: tasks finished later do not count for throughput
}

func (j job) Run(ctx context.Context) error {
	now := time.Now()
	r := j.rec
	r.mu.Lock()
	w := &r.waits[j.i]
	w.Wait = now.Sub(r.start) - w.At
	r.mu.Unlock()
	time.Sleep(j.service)
	r.mu.Lock()
	if !time.Now().After(r.end) {
		r.finished++
	}
	r.mu.Unlock()
	return nil
}

// Run plays tr into a new dynamic pool scaled by policy, configured by
// cfg, shuts the pool down once its queue has drained and returns what
// it measured. Call it inside a synctest bubble: outside, it would take
// the trace's duration in real time and measure the machine as well.
func Run(tr Trace, cfg Config, name string, policy poolrt.Option) (*Result, error) {
	if cfg.Interval == 0 {
		cfg.Interval = 100 * time.Millisecond
	}
	if cfg.Sample == 0 {
		cfg.Sample = 5 * time.Millisecond
	}
	p, err := templates.NewDynamicPool[job](
		poolrt.WorkerLimits(cfg.Min, cfg.Max),
		poolrt.ScaleInterval(cfg.Interval),
		poolrt.LatencySampling(1),
		policy,
	)
	if err != nil {
		return nil, fmt.Errorf("poolgen: replay %s under %s: %w", tr.Name, name, err)
	}
	rec := &recorder{start: time.Now()}
	rec.end = rec.start.Add(tr.Duration)
	res := &Result{Trace: tr.Name, Policy: name, Sample: cfg.Sample}

	// The sampler reads the size in the middle of every Sample of the
	// trace, off by a few odd nanoseconds: never at the instant of one of
	// the controller's evaluations, which would make the reading depend on
	// which of the two goroutines the scheduler runs first.
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(cfg.Sample/2 + 1013)
		t := time.NewTicker(cfg.Sample)
		defer t.Stop()
		for range int(tr.Duration / cfg.Sample) {
			n := p.Size()
			res.Sizes = append(res.Sizes, n)
			res.WorkerSeconds += float64(n) * cfg.Sample.Seconds()
			<-t.C
		}
	}()

	// Arrivals: a Poisson process of rate tr.Peak, thinned to tr.Rate.
	// Its instants fall on arbitrary nanoseconds, so they practically
	// never coincide with the controller's ticks: a measurement does not
	// race an arrival at the same fake instant.
	rng := rand.New(rand.NewPCG(cfg.Seed, 2))
	ctx := context.Background()
	at := time.Duration(0)
	for {
		at += time.Duration(rng.ExpFloat64() / tr.Peak * float64(time.Second))
		if at >= tr.Duration {
			break
		}
		service := time.Duration(rng.ExpFloat64() * float64(cfg.Service))
		if rng.Float64()*tr.Peak >= tr.Rate(at) {
			continue
		}
		if d := at - time.Since(rec.start); d > 0 {
			time.Sleep(d)
		}
		rec.mu.Lock()
		i := len(rec.waits)
		rec.waits = append(rec.waits, Wait{At: at})
		rec.mu.Unlock()
		if err := p.Submit(ctx, job{rec: rec, i: int32(i), service: service}); err != nil {
			return nil, fmt.Errorf("poolgen: replay %s under %s: %w", tr.Name, name, err)
		}
	}
	<-done
	if err := p.Shutdown(ctx); err != nil {
		return nil, fmt.Errorf("poolgen: replay %s under %s: %w", tr.Name, name, err)
	}
	res.Tasks = len(rec.waits)
	res.Waits = rec.waits
	res.Throughput = float64(rec.finished) / tr.Duration.Seconds()
	return res, nil
}
