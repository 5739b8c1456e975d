package bench

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/poolgen/poolgen/bench/tasks"
	poolrt "github.com/poolgen/poolgen/runtime"
)

// The tail workloads: latency at moderate load when the pool shares the
// CPUs, and the CPU a pool spends beyond its tasks. Contestants run at the
// same arrival rates, in interleaved rounds in one process (round 1 of
// each, then round 2 of each, ...), so that a disturbance of the machine
// falls on all of them; each figure is the median over the rounds, with
// the spread (lowest to highest) in the log.

var (
	tailRoundsFlag = flag.Int("tail.rounds", 0, "tail workloads: interleaved rounds per contestant (0: by -size: 8 full, 1 smoke)")
	tailPointFlag  = flag.Duration("tail.point", 0, "tail workloads: duration of one round's load point (0: by -size: 1 s full, 20 ms smoke)")
	tailTaskFlag   = flag.Duration("tail.task", 10*time.Microsecond, "tail latency workload: CPU time of one task")
	tailCPUTask    = flag.Duration("tail.cputask", 4*time.Microsecond, "tail CPU workload: CPU time of one task")
	tailImplsFlag  = flag.String("tail.impls", "poolgen-generated,chan,errgroup,conc,pond-go", "tail workloads: the contestants, comma-separated (poolgen-generated first)")
)

// tailPoint is how long one round of a tail workload offers tasks.
func tailPoint() time.Duration {
	if *tailPointFlag > 0 {
		return *tailPointFlag
	}
	if size().name == "smoke" {
		return 20 * time.Millisecond
	}
	return time.Second
}

// tailRounds is how many rounds each contestant runs.
func tailRounds() int {
	switch {
	case *tailRoundsFlag > 0:
		return *tailRoundsFlag
	case size().name == "smoke":
		return 1
	}
	return 8
}

// tailContestants are the pools compared on tail latency (-tail.impls):
// by default poolgen's generated fixed pool, a typed channel pool, the two
// peers that hand each task to a goroutine of their own (conc, errgroup),
// and pond. poolgen-generated-q<N> is the generated pool with
// QueueSize(N): an explicit queue size, which Submit does not pace (so
// q1024 is the default pool of 2 workers without pacing), and
// poolgen-generated-nometrics the generated pool with Metrics(false).
func tailContestants() ([]contestant[tasks.Timed], error) {
	var cs []contestant[tasks.Timed]
	all := lineup(generatedTimed, nil)
	for _, name := range strings.Split(*tailImplsFlag, ",") {
		if name == "poolgen-generated-nometrics" {
			cs = append(cs, generatedTimed[0].contestant("-nometrics", []poolrt.Option{poolrt.Metrics(false)}))
			continue
		}
		if q, ok := strings.CutPrefix(name, "poolgen-generated-q"); ok {
			n, err := strconv.Atoi(q)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("-tail.impls: %s: want poolgen-generated-q<queue size>", name)
			}
			cs = append(cs, generatedTimed[0].contestant("-q"+q, []poolrt.Option{poolrt.QueueSize(n)}))
			continue
		}
		for _, c := range all {
			if c.name == name {
				cs = append(cs, c)
			}
		}
	}
	return cs, nil
}

// BenchmarkTail: tail latency at 50% and 90% load with ~10 µs tasks
// (-tail.task) and GOMAXPROCS workers, every contestant at the same arrival
// rates: a fraction of the poolgen pool's measured capacity
// (-lat.capacity fixes it instead). Feeds (see feeder):
//
//	busy      the generator yields in a loop between arrivals (its P stays busy)
//	sleep     the generator sleeps until each arrival
//	shared    busy, beside GOMAXPROCS handler goroutines that run 50 µs
//	          bursts of CPU work with 100 µs rests
//
// Metrics, each the median over -tail.rounds interleaved rounds of a
// round's percentile (exact, from every task's latencies: the histograms'
// buckets, up to 12% wide, are as coarse as the bars' ratios):
// <contestant>-sched-p99-us (start − scheduled
// arrival), <contestant>-sub-p95-us (start − submission), and the ratios
// that compare poolgen with the others: sub-p95/chan, sched-p99/best (the
// best of chan, errgroup and conc); and the same two ratios taken within
// each round, then their median (sub-p95/chan-paired,
// sched-p99/best-paired; see roundRatios). Each round starts at a
// different contestant. The log has each round's figures.
func BenchmarkTail(b *testing.B) {
	cs, err := tailContestants()
	if err != nil {
		b.Fatal(err)
	}
	rounds := spinRounds(*tailTaskFlag)
	cfg := config{workers: gomaxprocs()}
	capa := *latCapFlag
	if capa == 0 {
		var err error
		if capa, err = capacity(cs[0], cfg, rounds, size().capWindow); err != nil {
			b.Fatalf("capacity: %v", err)
		}
	}
	feeds := []struct {
		name string
		f    feeder
	}{{"busy", feeder{}}, {"sleep", feeder{sleep: true}}, {"shared", feeder{handlers: gomaxprocs()}}}
	for _, load := range []int{50, 90} {
		for _, fd := range feeds {
			if fd.f.handlers > 0 && load > 50 {
				continue // the handlers take CPU the capacity did not leave them
			}
			b.Run(fmt.Sprintf("load=%d%%/feed=%s", load, fd.name), func(b *testing.B) {
				rate := capa * float64(load) / 100
				n := max(100, int(rate*tailPoint().Seconds()))
				sched := make([][]float64, len(cs))
				sub := make([][]float64, len(cs))
				paced := make([][]float64, len(cs))
				for range b.N {
					for r := range tailRounds() {
						for k := range cs {
							// Each round starts at a different
							// contestant: none always runs right
							// after the same one.
							i := (k + r) % len(cs)
							pt, err := openLoopFed(cs[i], cfg, rounds, n, rate, func(int) (uint8, int64) { return 0, 0 }, fd.f)
							if err != nil {
								b.Fatalf("%s: %v", cs[i].name, err)
							}
							sched[i] = append(sched[i], us(percentile(pt.waitX, 99)))
							sub[i] = append(sub[i], us(percentile(pt.subX, 95)))
							paced[i] = append(paced[i], 100*float64(pt.paced)/float64(n))
						}
					}
				}
				b.ReportMetric(capa, "cap-tasks/s")
				best := math.Inf(1)
				for i, c := range cs {
					b.ReportMetric(median(sched[i]), c.name+"-sched-p99-us")
					b.ReportMetric(median(sub[i]), c.name+"-sub-p95-us")
					line := fmt.Sprintf("%-18s sched p99 %s | sub p95 %s", c.name, spread(sched[i], 0), spread(sub[i], 0))
					if strings.HasPrefix(c.name, "poolgen") {
						line += " | paced % of submissions " + spread(paced[i], 1)
					}
					b.Log(line)
					if c.name == "chan" || c.name == "errgroup" || c.name == "conc" {
						best = min(best, median(sched[i]))
					}
					if c.name == "chan" {
						b.ReportMetric(median(sub[0])/median(sub[i]), "sub-p95/chan")
					}
				}
				if !math.IsInf(best, 1) {
					b.ReportMetric(median(sched[0])/best, "sched-p99/best")
				}
				// The same comparisons round by round, for each poolgen
				// contestant: see roundRatios.
				for i, c := range cs {
					if !strings.HasPrefix(c.name, "poolgen") {
						continue
					}
					prefix, who := c.name+"-", c.name
					if i == 0 {
						prefix, who = "", "poolgen"
					}
					if v := roundRatios(cs, sched, i, "chan", "errgroup", "conc"); v != nil {
						b.ReportMetric(median(v), prefix+"sched-p99/best-paired")
						b.Logf("%s sched p99 over the round's best: %s", who, spread(v, 2))
					}
					if v := roundRatios(cs, sub, i, "chan"); v != nil {
						b.ReportMetric(median(v), prefix+"sub-p95/chan-paired")
						b.Logf("%s sub p95 over the round's chan:   %s", who, spread(v, 2))
					}
				}
			})
		}
	}
}

// BenchmarkTailCPU: the CPU time a pool spends beyond its tasks at a
// moderate, steady rate (1k, 10k and 100k tasks/s of -tail.cputask CPU
// work, GOMAXPROCS workers), against running each task on the generator's
// goroutine (inline). The generator sleeps between arrivals (a timer-driven
// service), so idle workers have nothing to share their CPU with. For each
// contestant, <contestant>-cpu-ns/task is the process's CPU time (user +
// system, getrusage) over a round minus the inline round's, per task:
// median over -tail.rounds rounds, each running every contestant in
// turn, starting at a different one; over-chan-ns/task is the
// median of the rounds' differences between poolgen and the channel pool
// (the bar: at most 0 at 1k tasks/s).
func BenchmarkTailCPU(b *testing.B) {
	rounds := spinRounds(*tailCPUTask)
	cfg := config{workers: gomaxprocs()}
	inline := contestant[tasks.Timed]{name: "inline", start: func(config) (pool[tasks.Timed], error) { return inlinePool{}, nil }}
	cs := []contestant[tasks.Timed]{inline}
	all, err := tailContestants()
	if err != nil {
		b.Fatal(err)
	}
	var peer int // chan's index in cs; 0: not running
	for _, c := range all {
		switch {
		case strings.HasPrefix(c.name, "poolgen-"):
			cs = append(cs, c)
		case c.name == "chan":
			cs = append(cs, c)
			peer = len(cs) - 1
		}
	}
	for _, rate := range []float64{1e3, 1e4, 1e5} {
		b.Run(fmt.Sprintf("rate=%gk", rate/1e3), func(b *testing.B) {
			n := max(100, int(rate*tailPoint().Seconds()))
			cpu := make([][]float64, len(cs))
			for range b.N {
				used := make([]float64, len(cs))
				for r := range tailRounds() {
					for k := range cs {
						// Each round starts the contestants at a
						// different one, and each with a fresh heap:
						// the garbage of one contestant's round (its
						// recorder, its pool) is not collected on the
						// next one's time.
						i := (k + r) % len(cs)
						runtime.GC()
						before := cpuTime()
						if _, err := openLoopFed(cs[i], cfg, rounds, n, rate, func(int) (uint8, int64) { return 0, 0 }, feeder{sleep: true}); err != nil {
							b.Fatalf("%s: %v", cs[i].name, err)
						}
						used[i] = float64(cpuTime()-before) / float64(n)
					}
					for i := range cs {
						cpu[i] = append(cpu[i], used[i]-used[0])
					}
				}
			}
			for i, c := range cs[1:] {
				b.ReportMetric(median(cpu[i+1]), c.name+"-cpu-ns/task")
				b.Logf("%-18s cpu beyond inline, ns/task: %s", c.name, spread(cpu[i+1], 0))
			}
			if peer == 0 {
				return
			}
			// Round by round, the difference does without the inline
			// baseline, whose own spread is as wide as the gap between
			// the pools.
			for i, c := range cs {
				if !strings.HasPrefix(c.name, "poolgen-") {
					continue
				}
				diff := make([]float64, len(cpu[i]))
				lower := 0
				for r := range diff {
					diff[r] = cpu[i][r] - cpu[peer][r]
					if diff[r] < 0 {
						lower++
					}
				}
				unit := "over-chan-ns/task"
				if c.name != "poolgen-generated" {
					unit = c.name + "-" + unit
				}
				b.ReportMetric(median(diff), unit)
				b.Logf("%s minus chan, ns/task: %s; lower in %d of %d rounds", c.name, spread(diff, 0), lower, len(diff))
			}
		})
	}
}

// inlinePool runs each task on the submitting goroutine.
type inlinePool struct{}

func (inlinePool) submitN(ctx context.Context, t tasks.Timed, n int) error {
	for range n {
		_ = t.Run(ctx)
	}
	return nil
}

func (p inlinePool) submit(ctx context.Context, t tasks.Timed) error { return p.submitN(ctx, t, 1) }

func (inlinePool) close() error { return nil }

// cpuTime returns the process's CPU time so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// percentile returns the p-th percentile of d by nearest rank: the
// smallest value that at least p% of d are at or below. d is not changed.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	k := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(k, 1), len(s))-1]
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return math.NaN()
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread formats v's median, lowest and highest, then each value.
func spread(v []float64, prec int) string {
	var sb strings.Builder
	s := slices.Clone(v)
	slices.Sort(s)
	fmt.Fprintf(&sb, "median %.*f (%.*f–%.*f):", prec, median(v), prec, s[0], prec, s[len(s)-1])
	for _, x := range v {
		fmt.Fprintf(&sb, " %.*f", prec, x)
	}
	return sb.String()
}

// roundRatios returns, round by round, contestant subject's figure
// (v[subject], rounds in order) over the lowest of the named peers' figures in the same round;
// nil when none of the peers ran. The host's disturbances come and go
// over a run (on 2 shared vCPUs, for a few rounds to most of a run), and
// move every contestant's figures in the rounds they cover: each
// contestant's median over the rounds then falls on whichever side of a
// disturbance its rounds' order put it, while contestants of one round
// ran seconds apart. A figure of 0 over 0 is 1.
func roundRatios(cs []contestant[tasks.Timed], v [][]float64, subject int, peers ...string) []float64 {
	var out []float64
	for r := range v[subject] {
		best := math.Inf(1)
		for i, c := range cs {
			if slices.Contains(peers, c.name) {
				best = min(best, v[i][r])
			}
		}
		switch {
		case math.IsInf(best, 1):
			return nil
		case best == 0 && v[subject][r] == 0:
			out = append(out, 1)
		default:
			out = append(out, v[subject][r]/best) // +Inf over a peer at 0
		}
	}
	return out
}

// BenchmarkTailWake measures the machine, not a pool: how long a goroutine
// that another goroutine readies waits before it runs, while every other
// P is idle. That is the wait of a parked worker that a submission wakes.
// The readied goroutine is put on the waker's P, and the Go scheduler
// wakes an idle P's thread to take it. Between wakes both sides sleep
// 300 µs, so the idle P's thread, and its CPU, go to sleep.
//
//   - waker=spins: the waker keeps its P for 200 µs after the wake (a
//     submitter with more to do), so the wait is the time the idle P's
//     thread takes to start and take the goroutine, or the 200 µs.
//   - waker=blocks: the waker blocks at once, as errgroup's and conc's
//     submitters do when every worker is busy; the readied goroutine
//     takes its P.
//   - waker=thread: the same as spins one level down, two OS threads
//     (runtime.LockOSThread) and a pipe: the time the OS takes to run a
//     thread woken on an idle CPU while the waker's CPU is busy.
//
// Metrics: wait percentiles in µs.
func BenchmarkTailWake(b *testing.B) {
	n := 2000
	if size().name == "smoke" {
		n = 50
	}
	for _, mode := range []string{"spins", "blocks", "thread"} {
		b.Run("waker="+mode, func(b *testing.B) {
			var waits []float64
			for range b.N {
				w, err := wakeWaits(mode, n)
				if err != nil {
					b.Fatal(err)
				}
				waits = append(waits, w...)
			}
			slices.Sort(waits)
			at := func(q float64) float64 { return waits[int(q*float64(len(waits)-1))] }
			b.ReportMetric(at(0.5), "wait-p50-us")
			b.ReportMetric(at(0.9), "wait-p90-us")
			b.ReportMetric(at(0.99), "wait-p99-us")
		})
	}
}

// wakeWaits wakes a sleeping goroutine n times as mode says
// (BenchmarkTailWake) and returns each wait in µs.
func wakeWaits(mode string, n int) ([]float64, error) {
	const spin, gap = 200 * time.Microsecond, 300 * time.Microsecond
	epoch := time.Now()
	stamp := func() int64 { return int64(time.Since(epoch)) }
	var fds [2]int
	if mode == "thread" {
		if err := syscall.Pipe(fds[:]); err != nil {
			return nil, err
		}
		defer syscall.Close(fds[0])
		defer syscall.Close(fds[1])
	}
	stamps := make(chan int64)
	done := make(chan struct{})
	got := make(chan float64, n)
	go func() {
		if mode == "thread" {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var buf [8]byte
			for range n {
				if _, err := syscall.Read(fds[0], buf[:]); err != nil {
					panic(err)
				}
				got <- us(time.Duration(stamp() - int64(binary.LittleEndian.Uint64(buf[:]))))
			}
			return
		}
		for t := range stamps {
			got <- us(time.Duration(stamp() - t))
			if mode == "blocks" {
				done <- struct{}{}
			}
		}
	}()
	if mode == "thread" {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	for range n {
		if mode == "thread" {
			ts := syscall.NsecToTimespec(int64(gap))
			_ = syscall.Nanosleep(&ts, nil)
			var buf [8]byte
			binary.LittleEndian.PutUint64(buf[:], uint64(stamp()))
			if _, err := syscall.Write(fds[1], buf[:]); err != nil {
				return nil, err
			}
		} else {
			time.Sleep(gap)
			stamps <- stamp()
			if mode == "blocks" {
				<-done
				continue
			}
		}
		for end := stamp() + int64(spin); stamp() < end; {
		}
	}
	close(stamps)
	waits := make([]float64, n)
	for i := range waits {
		waits[i] = <-got
	}
	return waits, nil
}

func TestPercentile(t *testing.T) {
	d := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 5}, {90, 9}, {95, 10}, {99, 10}, {100, 10}, {1, 1}, {0, 1}} {
		if got := percentile(d, c.p); got != c.want {
			t.Errorf("percentile(1..10, %v) = %v, want %v", c.p, got, c.want)
		}
	}
	if d[0] != 5 {
		t.Errorf("percentile sorted its argument: %v", d)
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("percentile(nil) = %v, want 0", got)
	}
}

func TestRoundRatios(t *testing.T) {
	cs := []contestant[tasks.Timed]{{name: "poolgen-generated"}, {name: "chan"}, {name: "conc"}, {name: "pond-go"}}
	v := [][]float64{
		{10, 20, 0, 5},
		{5, 40, 0, 0},
		{20, 10, 3, 0},
		{1, 1, 1, 1}, // not a peer: never the best
	}
	got := roundRatios(cs, v, 0, "chan", "conc")
	want := []float64{2, 2, 1, math.Inf(1)}
	if !slices.Equal(got, want) {
		t.Errorf("roundRatios(chan, conc) = %v, want %v", got, want)
	}
	if got := roundRatios(cs, v, 0, "errgroup"); got != nil {
		t.Errorf("roundRatios(errgroup), which did not run = %v, want nil", got)
	}
}

func TestRecorderExact(t *testing.T) {
	rec := tasks.NewRecorder(3)
	now := rec.Now()
	for id := range 3 {
		_ = tasks.Timed{R: rec, Sched: now - int64(id)*int64(time.Second), Sub: now + int64(time.Hour), ID: uint32(id)}.Run(context.Background())
	}
	wait, sub := rec.Exact(3)
	for id := range 3 {
		if lo := time.Duration(id) * time.Second; wait[id] < lo || wait[id] > lo+time.Minute {
			t.Errorf("task %d: wait %v, want %v and a little", id, wait[id], lo)
		}
		if sub[id] > -time.Hour+time.Minute || sub[id] < -time.Hour {
			t.Errorf("task %d: sub %v, want -1h and a little", id, sub[id])
		}
	}
}
