// Shed measures load shedding (poolrt.Shed) under overload, in real time:
// for each pool pattern it offers twice the pool's capacity open-loop,
// with shedding off and on, and prints a markdown table of the queue
// wait of the admitted tasks (submit to start, every task timed) and the
// throughput. Package shedload describes the workload; TestShedVirtual
// runs the same in virtual time.
//
// Usage, from the bench directory:
//
//	go run ./cmd/shed                    # every pattern, 6s runs, 3 rounds
//	go run ./cmd/shed -patterns fixed -run 10s -rounds 5 -trace
//
// The capacity a run is compared with is the throughput of the same
// workload with shedding off, whose queue never empties: what the pool
// really completes on this machine, sleeps' overshoot included. The
// table shows the medians of the rounds.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/poolgen/poolgen/bench/shedload"
	poolrt "github.com/poolgen/poolgen/runtime"
)

var (
	patterns = flag.String("patterns", strings.Join(shedload.Patterns, ","), "patterns to measure, comma-separated")
	workers  = flag.Int("workers", 8, "workers of each pool")
	maxBatch = flag.Int("maxbatch", 4, "the batch pool's MaxBatch")
	taskTime = flag.Duration("task", 2*time.Millisecond, "mean task time (a batch's for the batch pool)")
	runFor   = flag.Duration("run", 6*time.Second, "length of each run")
	warm     = flag.Duration("warm", time.Second, "the start of each run left out of the figures")
	load     = flag.Float64("load", 2, "offered load, as a multiple of the nominal capacity (workers over the mean task time)")
	rounds   = flag.Int("rounds", 3, "rounds of each measurement")
	sampling = flag.Int("sampling", 0, "LatencySampling of the pools (0: the default)")
	target   = flag.Duration("target", 5*time.Millisecond, "Shed's Target")
	interval = flag.Duration("interval", 100*time.Millisecond, "Shed's Interval")
	trace    = flag.Bool("trace", false, "print each run's queue depth and shedding every 25ms to stderr")
)

func main() {
	flag.Parse()
	log.SetFlags(0)
	fmt.Printf("Offered load %.1f× the nominal capacity, %d workers, tasks sleeping %v on average, runs of %v (the first %v left out), Shed target %v over %v; medians of %d rounds.\n\n",
		*load, *workers, *taskTime, *runFor, *warm, *target, *interval, *rounds)
	fmt.Println("| pattern | shedding | throughput/s | of capacity | admitted | wait p50 | wait p99 | wait max | before the window: max |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, pattern := range strings.Split(*patterns, ",") {
		var rows [2][]shedload.Result
		var share []float64
		for range *rounds {
			var capacity float64
			for k, on := range []bool{false, true} {
				c := shedload.Config{Pattern: pattern, Workers: *workers, MaxBatch: *maxBatch, Task: *taskTime, Run: *runFor, Warm: *warm}
				c.Rate = *load * c.Capacity()
				if *sampling > 0 {
					c.Options = append(c.Options, poolrt.LatencySampling(*sampling))
				}
				if on {
					c.Options = append(c.Options, poolrt.Shed(poolrt.ShedPolicy{Target: *target, Interval: *interval}))
				}
				var tr func(time.Duration, poolrt.Stats)
				if *trace {
					tr = func(at time.Duration, st poolrt.Stats) {
						fmt.Fprintf(os.Stderr, "%s shed=%t %v depth %d shed %d shedding %t\n", pattern, on, at.Round(time.Millisecond), st.QueueDepth, st.Shed, st.Shedding)
					}
				}
				res, err := shedload.Run(c, tr)
				if err != nil {
					log.Fatalf("%s: %v", pattern, err)
				}
				if !on {
					capacity = res.Throughput
				} else {
					share = append(share, res.Throughput/capacity)
				}
				rows[k] = append(rows[k], res)
			}
		}
		for k, state := range []string{"off", "on"} {
			rs := rows[k]
			of := "100% (the reference)"
			if k == 1 {
				of = fmt.Sprintf("%.1f%%", 100*median(share))
			}
			fmt.Printf("| %s | %s | %.0f | %s | %.1f%% | %v | %v | %v | %v |\n", pattern, state,
				median(pick(rs, func(r shedload.Result) float64 { return r.Throughput })), of,
				100*median(pick(rs, func(r shedload.Result) float64 { return float64(r.Admitted) / float64(max(r.Offered, 1)) })),
				round(medianD(rs, func(r shedload.Result) time.Duration { return r.P50 })),
				round(medianD(rs, func(r shedload.Result) time.Duration { return r.P99 })),
				round(medianD(rs, func(r shedload.Result) time.Duration { return r.Max })),
				round(medianD(rs, func(r shedload.Result) time.Duration { return r.TransientMax })))
		}
	}
}

func pick(rs []shedload.Result, f func(shedload.Result) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}

func medianD(rs []shedload.Result, f func(shedload.Result) time.Duration) time.Duration {
	xs := make([]time.Duration, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// round rounds d to three significant digits.
func round(d time.Duration) time.Duration {
	for r := time.Duration(1); ; r *= 10 {
		if d < 1000*r {
			return d.Round(r)
		}
	}
}
