package poolrt_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// exampleStats is a dynamic pool's snapshot, with latencies as histogram
// buckets give them: more digits than they mean.
func exampleStats() poolrt.Stats {
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	return poolrt.Stats{
		Workers: 8, Busy: 5, Idle: 3, QueueDepth: 12, QueueCap: 1024,
		Submitted: 120000, Completed: 119850, Failed: 40, Panicked: 2, Rejected: 7,
		CallerRuns: 0, Returned: 0,
		Utilization: 0.625,
		Wait: poolrt.Latency{Count: 7490, Mean: 181234 * time.Nanosecond,
			P50: 95875 * time.Nanosecond, P95: 711935 * time.Nanosecond,
			P99: 1507327 * time.Nanosecond, P999: 4194303 * time.Nanosecond,
			Max: 9437183 * time.Nanosecond},
		Run: poolrt.Latency{Count: 7490, Mean: 1234567 * time.Nanosecond,
			P50: 1048575 * time.Nanosecond, P95: 2621439 * time.Nanosecond,
			P99: 3670015 * time.Nanosecond, P999: 6291455 * time.Nanosecond,
			Max: 12582911 * time.Nanosecond},
		Uptime: 75*time.Second + 123456789,
		Scaling: &poolrt.ScalingStats{
			Size: 8, Min: 2, Max: 16, Peak: 12,
			Ups: 5, Downs: 3, Evaluations: 750, Surges: 4, Capped: 0, Held: 1,
			AtMax: 0, AtMin: 20*time.Second + 45678901,
			Last: poolrt.ScaleSignals{At: at, Interval: 100 * time.Millisecond,
				Workers: 8, Min: 2, Max: 16, Busy: 5, QueueDepth: 12, QueueCap: 1024,
				Arrivals: 160, Completions: 158, Utilization: 0.71, MeanRun: 1234567},
			Events: []poolrt.ScaleEvent{
				{At: at.Add(-3 * time.Second), From: 12, To: 8, Reason: poolrt.ReasonQuiet},
			},
		},
	}
}

func ExampleStats_String() {
	st := exampleStats() // in a program: st := p.Stats()
	fmt.Println(st)
	// Output:
	// workers  8 (busy 5, idle 3), utilization 62.5%, queue 12 of 1024, uptime 1m15.1s
	// tasks    submitted 120000, completed 119850 (1595/s), failed 40, panicked 2, rejected 7,
	//          caller-runs 0, returned 0
	// wait     p50 95.9µs, p95 712µs, p99 1.51ms, p99.9 4.19ms, max 9.44ms, mean 181µs, 7490 sampled
	// run      p50 1.05ms, p95 2.62ms, p99 3.67ms, p99.9 6.29ms, max 12.6ms, mean 1.23ms, 7490 sampled
	// scaling  size 8 (min 2, max 16, peak 12), ups 5, downs 3, evaluations 750, surges 4, capped 0,
	//          held 1, at max 0s, at min 20s
	//          measured at 15:04:05.000: utilization 71.0%, queue 12 of 1024, arrivals 1600/s,
	//          completions 1580/s, mean run 1.23ms
	//          last change at 15:04:02.000: 12 → 8 workers (queue and utilization at or below the
	//          scale-down thresholds)
}

func ExamplePriorityStats_String() {
	st := poolrt.PriorityStats{
		Kind:  poolrt.ByPriority,
		Aging: 50 * time.Millisecond,
		Bands: []poolrt.BandStats{
			{Lo: math.MinInt64, Hi: -1, Submitted: 300, Completed: 280, Returned: 20,
				Wait: poolrt.Latency{Count: 30, P50: 41943039, P99: 125829119, Max: 130023423}},
			{Lo: 0, Hi: 9, Submitted: 5000, Completed: 4990, Panicked: 1, Returned: 9,
				Wait: poolrt.Latency{Count: 500, P50: 1048575, P99: 8388607, Max: 9437183}},
			{Lo: 10, Hi: math.MaxInt64, Submitted: 200, Completed: 200,
				Wait: poolrt.Latency{Count: 20, P50: 65535, P99: 131071, Max: 147455}},
		},
		LowestMaxWait: 130023423,
	}
	fmt.Println(st)
	// Output:
	// priority by priority, aging 50ms, lowest band's max wait 130ms
	//          band  submitted  completed  panicked  returned  wait p50  wait p99  wait max
	//          ≤ -1        300        280         0        20    41.9ms     126ms     130ms
	//          0..9       5000       4990         1         9    1.05ms    8.39ms    9.44ms
	//          ≥ 10        200        200         0         0    65.5µs     131µs     147µs
}

func ExampleStats_LogValue() {
	drop := func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && groups == nil {
			return slog.Attr{} // for a reproducible output
		}
		return a
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: drop}))
	st := poolrt.Stats{Workers: 4, Busy: 1, Idle: 3, QueueCap: 64, Submitted: 10, Completed: 10,
		Batch: &poolrt.BatchStats{Batches: 3, MeanSize: 3.3, Full: 2, Shutdown: 1}}
	log.Info("pool", "stats", st)
	// Output:
	// {"level":"INFO","msg":"pool","stats":{"workers":4,"busy":1,"idle":3,"queue_depth":0,"queue_cap":64,"submitted":10,"completed":10,"failed":0,"panicked":0,"rejected":0,"caller_runs":0,"returned":0,"timed_out":0,"retries":0,"retry_succeeded":0,"dead_lettered":0,"hook_panics":0,"stuck":0,"stuck_tasks":0,"utilization":0,"uptime":0,"wait_p50":0,"wait_p99":0,"run_p50":0,"run_p99":0,"shed":0,"shedding":false,"paced":0,"batch":{"batches":3,"failed":0,"mean_size":3.3,"full":2,"linger":0,"idle":0,"shutdown":1}}}
}

// sectioned returns a snapshot of each pattern, section set, with a
// priority pool's unbounded band and the largest counters.
func sectioned() map[string]poolrt.Stats {
	full := exampleStats()
	full.Submitted, full.Completed, full.Rejected = math.MaxUint64, math.MaxUint64, math.MaxUint64
	full.Wait.Max = math.MaxInt64
	full.Scaling.Events[0].Reason = strings.Repeat("a reason no line can hold ", 8) +
		strings.Repeat("x", 150)
	priority := poolrt.Stats{Priority: &poolrt.PriorityStats{Kind: poolrt.ByDeadline,
		Bands:  []poolrt.BandStats{{Lo: math.MinInt64, Hi: math.MaxInt64, Submitted: 3}},
		Missed: 2, Lateness: poolrt.Latency{Count: 2, P50: 1500, Max: 3000}}}
	bands := poolrt.Stats{Priority: &poolrt.PriorityStats{Kind: poolrt.ByCost,
		Bands: []poolrt.BandStats{{Lo: math.MinInt64, Hi: -1000001}, {Lo: -1000000, Hi: 4},
			{Lo: 5, Hi: 5, Submitted: 1, Completed: 1, Wait: poolrt.Latency{Count: 1, Max: 2000}},
			{Lo: 6, Hi: math.MaxInt64}}}}
	full.Priority = &poolrt.PriorityStats{Bands: []poolrt.BandStats{
		{Lo: math.MinInt64, Hi: -1 << 62, Submitted: math.MaxUint64, Completed: math.MaxUint64},
		{Lo: -1<<62 + 1, Hi: 1 << 62, Panicked: math.MaxUint64, Returned: math.MaxUint64},
		{Lo: 1<<62 + 1, Hi: math.MaxInt64}}}
	batch := &poolrt.BatchStats{Batches: 9, MeanSize: 2.5, Full: 9, Open: 1}
	batch.Sizes[0], batch.Sizes[2], batch.Sizes[31] = 4, 5, 1
	return map[string]poolrt.Stats{
		"fixed":    {Workers: 2, QueueCap: 8},
		"dynamic":  {Scaling: &poolrt.ScalingStats{Min: 1, Max: 4}},
		"extremes": full,
		"stealing": {Stealing: &poolrt.StealingStats{Local: 7, Steals: 2,
			Workers: []poolrt.StealingWorkerStats{{Local: 3, Steals: 2}, {Local: 4}}}},
		"priority": priority,
		"bands":    bands,
		"batch":    {Batch: batch},
		"breaker": {Breaker: &poolrt.BreakerStats{Opens: 2, HalfOpens: 1, Closes: 1, FailedFast: 7, Held: 3, Holding: 1,
			Keys: 3, Open: 1, HalfOpen: 1, States: []poolrt.BreakerKeyState{{Key: "billing", State: poolrt.BreakerOpen},
				{Key: "search", State: poolrt.BreakerHalfOpen}, {Key: "mail", State: poolrt.BreakerClosed, Failures: 2}}}},
	}
}

func TestStatsPrintsNoPointersNorSentinels(t *testing.T) {
	for name, st := range sectioned() {
		for _, verb := range []string{"%v", "%+v", "%s"} {
			out := fmt.Sprintf(verb, st)
			for _, bad := range []string{"0x", "9223372036854775807", "9223372036854775808", "{", "&"} {
				if strings.Contains(out, bad) {
					t.Errorf("%s: Sprintf(%q) contains %q:\n%s", name, verb, bad, out)
				}
			}
		}
	}
}

func TestStatsLinesFit(t *testing.T) {
	for name, st := range sectioned() {
		out := st.String()
		if strings.HasSuffix(out, "\n") {
			t.Errorf("%s: String() ends with a newline", name)
		}
		for i, line := range strings.Split(out, "\n") {
			if n := utf8.RuneCountInString(line); n > 100 {
				t.Errorf("%s: line %d has %d columns, want ≤ 100:\n%s", name, i+1, n, line)
			}
			if line != strings.TrimRight(line, " ") {
				t.Errorf("%s: line %d ends with spaces: %q", name, i+1, line)
			}
		}
	}
}

func TestStatsSections(t *testing.T) {
	for name, want := range map[string][]string{
		"fixed":   {"workers  2 ", "queue 0 of 8", "wait     none sampled"},
		"dynamic": {"\nscaling  size 0 (min 1, max 4, peak 0)", "at max 0s"},
		"extremes": {"submitted 18446744073709551615", "rejected 18446744073709551615", "a reason no",
			"band ≤ -4611686018427387904: submitted 18446744073709551615",
			"band -4611686018427387903..4611686018427387904: ", "band ≥ 4611686018427387905: "},
		"stealing": {"\nstealing ", "steals 2 of 0 attempts", "per worker (2): tasks 3..4 (mean 3.5)",
			"steals 0..2"},
		"priority": {"\npriority by deadline, aging off",
			"         band  submitted  completed  panicked  returned  wait p50  wait p99  wait max\n" +
				"         all           3          0         0         0         -         -         -\n",
			"late: missed 2, dropped 0, handed off 0, lateness p50 1.5µs, p99 0s, max 3µs"},
		"bands": {"\n         ≤ -1000001      ", "\n         -1000000..4     ",
			"\n         5                    1          1         0         0        0s        0s       2µs",
			"\n         ≥ 6             "},
		"breaker": {"\nbreaker  opens 2, half-opens 1, closes 1, failed fast 7, held 3, holding 1\n" +
			"         breakers 3, open 1, half-open 1\n" +
			"         not closed: billing (open), search (half-open)"},
		"batch": {"\nbatch    batches 9 (0 failed), mean size 2.5, open 1, ready 0",
			"flushed full 9, linger 0", "sizes 1: 4, 3..4: 5, 1073741825..2147483648: 1"},
	} {
		out := sectioned()[name].String()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: String() lacks %q:\n%s", name, w, out)
			}
		}
	}
	if b := sectioned()["breaker"].Breaker; !strings.HasPrefix(b.String(), "breaker  opens 2") {
		t.Errorf("BreakerStats.String:\n%s", b.String())
	}
	if out := sectioned()["fixed"].String(); strings.Count(out, "\n") != 3 {
		t.Errorf("a fixed pool's Stats: want 4 lines, got:\n%s", out)
	}
}

// TestStatsCounters checks that String and LogValue show every counter of
// Stats, the ones added after them included: each gets a distinct value.
func TestStatsCounters(t *testing.T) {
	var st poolrt.Stats
	v := reflect.ValueOf(&st).Elem()
	var counters []string
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Uint64 {
			f.SetUint(uint64(1000 + 111*i))
			counters = append(counters, v.Type().Field(i).Name)
		}
	}
	if len(counters) < 7 {
		t.Fatalf("found counters %v, want at least the 7 of Stats", counters)
	}
	out := st.String()
	logged := logJSON(t, st)
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Kind() != reflect.Uint64 {
			continue
		}
		name, n := v.Type().Field(i).Name, strconv.FormatUint(f.Uint(), 10)
		if !strings.Contains(out, " "+n) {
			t.Errorf("String() lacks the counter %s (%s):\n%s", name, n, out)
		}
		found := false
		for _, val := range logged {
			if x, ok := val.(float64); ok && x == float64(f.Uint()) {
				found = true
			}
		}
		if !found {
			t.Errorf("LogValue lacks the counter %s (%s): %v", name, n, logged)
		}
	}
}

// logJSON logs st through a JSON handler and returns the "stats" group.
func logJSON(t *testing.T, st poolrt.Stats) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("pool", "stats", st)
	var rec struct{ Stats map[string]any }
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %s", err, buf.Bytes())
	}
	return rec.Stats
}

func TestStatsLogValue(t *testing.T) {
	main := []string{"workers", "busy", "idle", "queue_depth", "queue_cap", "submitted",
		"completed", "failed", "panicked", "rejected", "caller_runs", "returned", "utilization",
		"uptime", "wait_p50", "wait_p99", "run_p50", "run_p99"}
	sections := map[string][]string{
		"scaling":  {"size", "min", "max", "peak", "ups", "downs", "capped", "at_max", "at_min"},
		"stealing": {"local", "injector", "stolen", "steal_attempts", "steals", "stolen_tasks", "forked"},
		"priority": {"kind", "bands", "lowest_max_wait", "missed", "dropped", "handed_off"},
		"batch":    {"batches", "failed", "mean_size", "full", "linger", "idle", "shutdown"},
		"breaker": {"opens", "half_opens", "closes", "failed_fast", "held", "holding", "breakers",
			"open", "half_open"},
	}
	for name, st := range sectioned() {
		if name == "bands" {
			continue // a cost pool: no deadline counters
		}
		got := logJSON(t, st)
		for _, k := range main {
			if _, ok := got[k]; !ok {
				t.Errorf("%s: logged stats lack %q: %v", name, k, got)
			}
		}
		for sec, keys := range sections {
			g, ok := got[sec].(map[string]any)
			if set := reflect.ValueOf(st).FieldByName(strings.ToUpper(sec[:1]) + sec[1:]); set.IsNil() {
				if ok {
					t.Errorf("%s: logged stats have a %q group for a nil section", name, sec)
				}
				continue
			}
			if !ok {
				t.Errorf("%s: logged stats lack the %q group: %v", name, sec, got)
				continue
			}
			for _, k := range keys {
				if _, ok := g[k]; !ok {
					t.Errorf("%s: logged %s group lacks %q: %v", name, sec, k, g)
				}
			}
		}
	}
	got := logJSON(t, exampleStats())
	if got["submitted"] != 120000.0 || got["wait_p99"] != 1507327.0 ||
		got["scaling"].(map[string]any)["ups"] != 5.0 {
		t.Errorf("logged stats: %v", got)
	}
}

// TestFairStatsString: the fair section prints its counts and a line per
// listed tenant, within the width, and logs its counts.
func TestFairStatsString(t *testing.T) {
	f := poolrt.FairStats{Tenants: 2, Backlogged: 1, Forgotten: 7, TenantRejected: 3, Top: []poolrt.TenantStats{
		{Tenant: "acme", Weight: 3, Queued: 4, Running: 2, Submitted: 90, Ended: 84, Busy: 1500 * time.Millisecond, Share: 0.75},
		{Tenant: "globex", Weight: 1, Submitted: 30, Ended: 30, Busy: 500 * time.Millisecond, Share: 0.25},
	}}
	s := poolrt.Stats{Workers: 2, Fair: &f}
	text := s.String()
	for _, want := range []string{"fair", "tenants 2", "backlogged 1", "forgotten 7", "tenant-full 3",
		`tenant "acme"`, "weight 3", "share 75.0%", "busy 1.5s", "queued 4", "running 2", "submitted 90", "ended 84", `tenant "globex"`} {
		if !strings.Contains(text, want) {
			t.Errorf("Stats.String lacks %q:\n%s", want, text)
		}
	}
	if f.String() == "" || !strings.Contains(text, f.String()) {
		t.Errorf("FairStats.String %q is not the section of Stats.String:\n%s", f.String(), text)
	}
	for _, line := range strings.Split(text, "\n") {
		if n := utf8.RuneCountInString(line); n > 100 {
			t.Errorf("line of %d columns: %q", n, line)
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("pool", "stats", s)
	if !strings.Contains(buf.String(), `"fair":{"tenants":2,"backlogged":1,"forgotten":7,"tenant_rejected":3}`) {
		t.Errorf("log record lacks the fair group: %s", buf.String())
	}
}
