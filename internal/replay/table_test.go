package replay

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var update = flag.Bool("update", false, "write the table into docs/SCALING.md")

// The table's markers in docs/SCALING.md.
const (
	tableBegin = "<!-- replay table: begin -->"
	tableEnd   = "<!-- replay table: end -->"
)

// day is the period of the table's periodic traces: a day squeezed into
// 30 seconds, so that the replay of two days takes a second or two.
const day = 30 * time.Second

// Traces returns the table's traces.
func tableTraces() []Trace {
	return []Trace{
		Diurnal(day, 2, 100, 1000),
		Burst(day, 2, 100, 1000, 10*time.Second, 4*time.Second),
		Step(2*day, 100, 800, day/2),
		RandomWalk(2*day, time.Second, 50, 1000, 300, 7),
	}
}

// tablePolicies returns the table's policies, each with its defaults.
func tablePolicies() []struct {
	name string
	opt  poolrt.Option
} {
	return []struct {
		name string
		opt  poolrt.Option
	}{
		{"ThresholdPolicy", poolrt.Thresholds(poolrt.ThresholdPolicy{})},
		{"PredictivePolicy", poolrt.Predictive(poolrt.PredictivePolicy{})},
		{"LearningPolicy", poolrt.Learning(poolrt.LearningPolicy{})},
		{"SeasonalPolicy", poolrt.Seasonal(poolrt.SeasonalPolicy{Period: day})},
	}
}

var tableConfig = Config{Service: 20 * time.Millisecond, Min: 1, Max: 64, Seed: 1}

// TestScalingTable replays every trace under every policy and prints the
// table of docs/SCALING.md; with -update it writes it there. It checks
// what holds whatever the policy: every task ran, the throughput is the
// arrival rate, and the pool ran at least the work's worker-seconds.
func TestScalingTable(t *testing.T) {
	// One processor: the queue then has one shard, and which shard a
	// submitter's task goes to cannot vary with the scheduler, so every
	// run of the table prints the same numbers.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var b bytes.Buffer
	fmt.Fprintln(&b, "| trace | policy | tasks | throughput (tasks/s) | wait P99 | wait P99.9 | wait P99, 2nd half | worker-seconds |")
	fmt.Fprintln(&b, "|---|---|--:|--:|--:|--:|--:|--:|")
	for _, tr := range tableTraces() {
		for _, p := range tablePolicies() {
			synctest.Test(t, func(t *testing.T) {
				r, err := Run(tr, tableConfig, p.name, p.opt)
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range r.Waits {
					if w.Wait < 0 {
						t.Fatalf("%s under %s: a task never ran (or ran before it was submitted)", tr.Name, p.name)
					}
				}
				work := float64(r.Tasks) * tableConfig.Service.Seconds()
				if arrival := float64(r.Tasks) / tr.Duration.Seconds(); r.Throughput < 0.98*arrival || r.WorkerSeconds < 0.9*work {
					t.Errorf("%s under %s: throughput %.1f/s for %.1f/s arriving; %.0f worker-seconds for %.0f of work",
						tr.Name, p.name, r.Throughput, arrival, r.WorkerSeconds, work)
				}
				ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
				fmt.Fprintf(&b, "| %s | %s | %d | %.1f | %s | %s | %s | %.0f |\n", tr.Name, p.name, r.Tasks, r.Throughput,
					ms(r.WaitQuantile(0.99, 0, tr.Duration)), ms(r.WaitQuantile(0.999, 0, tr.Duration)),
					ms(r.WaitQuantile(0.99, tr.Duration/2, tr.Duration)), r.WorkerSeconds)
			})
		}
	}
	t.Log("\n" + b.String())
	if *update {
		const path = "../../docs/SCALING.md"
		doc, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		before, rest, ok1 := strings.Cut(string(doc), tableBegin)
		_, after, ok2 := strings.Cut(rest, tableEnd)
		if !ok1 || !ok2 {
			t.Fatalf("%s has no %s … %s markers", path, tableBegin, tableEnd)
		}
		out := before + tableBegin + "\n" + b.String() + tableEnd + after
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWaitQuantile checks the quantiles the table prints.
func TestWaitQuantile(t *testing.T) {
	r := &Result{}
	for i := range 100 {
		r.Waits = append(r.Waits, Wait{At: time.Duration(i) * time.Second, Wait: time.Duration(100-i) * time.Millisecond})
	}
	for _, c := range []struct {
		q        float64
		from, to time.Duration
		want     time.Duration
	}{
		{0.5, 0, time.Hour, 50 * time.Millisecond},
		{0.99, 0, time.Hour, 99 * time.Millisecond},
		{1, 0, time.Hour, 100 * time.Millisecond},
		{0, 0, time.Hour, time.Millisecond},
		{1, 50 * time.Second, time.Hour, 50 * time.Millisecond}, // tasks 50…99 waited 50…1 ms
		{0.5, 2 * time.Hour, 3 * time.Hour, 0},
	} {
		if got := r.WaitQuantile(c.q, c.from, c.to); got != c.want {
			t.Errorf("WaitQuantile(%v, %v, %v) = %v, want %v", c.q, c.from, c.to, got, c.want)
		}
	}
	r.Sizes, r.Sample = []int{1, 2, 3, 4}, time.Second
	if got := r.MeanSize(time.Second, 3*time.Second); got != 2.5 {
		t.Errorf("MeanSize(1s, 3s) = %v, want 2.5", got)
	}
	if got := r.MeanSize(time.Hour, 2*time.Hour); got != 0 {
		t.Errorf("MeanSize over no sample = %v, want 0", got)
	}
}

// TestTraces checks the traces' shapes.
func TestTraces(t *testing.T) {
	d := Diurnal(10*time.Second, 2, 100, 1000)
	if d.Duration != 20*time.Second || d.Rate(0) != 100 || d.Rate(5*time.Second) != 1000 || d.Rate(10*time.Second) != 100 {
		t.Errorf("Diurnal: %v, %v at midnight, %v at noon", d.Duration, d.Rate(0), d.Rate(5*time.Second))
	}
	b := Burst(10*time.Second, 2, 100, 1000, 2*time.Second, time.Second)
	if b.Rate(time.Second) != 100 || b.Rate(2*time.Second) != 1000 || b.Rate(12500*time.Millisecond) != 1000 || b.Rate(3*time.Second) != 100 {
		t.Error("Burst: the burst is not at [2s, 3s) of every period")
	}
	s := Step(10*time.Second, 100, 800, 5*time.Second)
	if s.Rate(4*time.Second) != 100 || s.Rate(5*time.Second) != 800 || s.Peak != 800 {
		t.Error("Step: not 100 then 800 from 5s")
	}
	w := RandomWalk(100*time.Second, time.Second, 50, 1000, 300, 7)
	w2 := RandomWalk(100*time.Second, time.Second, 50, 1000, 300, 7)
	lo, hi := w.Rate(0), w.Rate(0)
	for i := range 101 {
		at := time.Duration(i) * time.Second
		r := w.Rate(at)
		if r != w2.Rate(at) || r < 50 || r > 1000 {
			t.Fatalf("RandomWalk at %v: %v (again %v), want the same and within [50, 1000]", at, r, w2.Rate(at))
		}
		lo, hi = min(lo, r), max(hi, r)
	}
	if hi/lo < 2 {
		t.Errorf("RandomWalk stayed within [%v, %v]: it hardly walks", lo, hi)
	}
}

// TestRunError checks that a bad option is reported, naming the trace.
func TestRunError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, err := Run(Step(time.Second, 1, 1, 0), Config{Service: time.Millisecond, Min: 2, Max: 1}, "bad", poolrt.Thresholds(poolrt.ThresholdPolicy{}))
		if err == nil || !strings.HasPrefix(err.Error(), "poolgen: replay step under bad:") {
			t.Errorf("Run with limits [2, 1]: %v", err)
		}
	})
}
