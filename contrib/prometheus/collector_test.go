package poolprom

import (
	"bytes"
	"flag"
	"math"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolimpl"
	"github.com/poolgen/poolgen/runtime/poolmon"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

var update = flag.Bool("update", false, "rewrite testdata/fixture.prom from the collector's output")

// newCollector returns a Collector of pools, failing the test on error.
func newCollector(t testing.TB, pools []poolmon.Pool, opts ...Option) *Collector {
	t.Helper()
	c, err := New(append([]Option{Source(func() []poolmon.Pool { return pools })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// gather returns the families c exports, by name.
func gather(t *testing.T, c prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	return byName
}

// series returns the metric of family mf whose labels include want.
func series(t *testing.T, mf *dto.MetricFamily, want map[string]string) *dto.Metric {
	t.Helper()
	if mf == nil {
		t.Fatal("no such family")
	}
	var found *dto.Metric
	for _, m := range mf.GetMetric() {
		match := 0
		for _, lp := range m.GetLabel() {
			if v, ok := want[lp.GetName()]; ok && v == lp.GetValue() {
				match++
			}
		}
		if match == len(want) {
			if found != nil {
				t.Fatalf("%s: more than one series with labels %v", mf.GetName(), want)
			}
			found = m
		}
	}
	if found == nil {
		t.Fatalf("%s: no series with labels %v", mf.GetName(), want)
	}
	return found
}

// exposition returns c's metrics in the text format.
func exposition(t *testing.T, c prometheus.Collector) []byte {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	enc := expfmt.NewEncoder(&out, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

// TestGolden compares a scrape of pools in a known state, one of each
// pattern, with testdata/fixture.prom.
func TestGolden(t *testing.T) {
	c := newCollector(t, fixturePools(), MaxWorkerLabels(2))
	const golden = "testdata/fixture.prom"
	if *update {
		if err := os.WriteFile(golden, exposition(t, c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	if err := testutil.CollectAndCompare(c, want); err != nil {
		t.Error(err)
	}
}

// TestFamilies checks which families each pattern has, against the list
// in the package documentation.
func TestFamilies(t *testing.T) {
	common := []string{
		"poolgen_tasks_submitted_total", "poolgen_tasks_rejected_total", "poolgen_tasks_caller_runs_total",
		"poolgen_tasks_completed_total", "poolgen_tasks_failed_total", "poolgen_tasks_panicked_total",
		"poolgen_tasks_timed_out_total", "poolgen_task_retries_total", "poolgen_tasks_retry_succeeded_total",
		"poolgen_tasks_dead_lettered_total",
		"poolgen_tasks_returned_total", "poolgen_hook_panics_total", "poolgen_tasks_stuck_total",
		"poolgen_workers_stuck", "poolgen_workers",
		"poolgen_workers_busy", "poolgen_workers_idle", "poolgen_queue_depth_tasks",
		"poolgen_queue_capacity_tasks", "poolgen_utilization_ratio", "poolgen_uptime_seconds",
		"poolgen_task_wait_seconds", "poolgen_task_run_seconds",
		"poolgen_tasks_shed_total", "poolgen_shedding", "poolgen_submits_paced_total",
	}
	own := map[string][]string{
		"fixed": nil,
		"breaker": {"poolgen_breaker_transitions_total", "poolgen_breaker_tasks_failed_fast_total",
			"poolgen_breaker_tasks_held_total", "poolgen_breaker_tasks_holding", "poolgen_breakers",
			"poolgen_breaker_state"},
		"dynamic": {"poolgen_scaling_size_workers", "poolgen_scaling_min_workers", "poolgen_scaling_max_workers",
			"poolgen_scaling_peak_workers", "poolgen_scaling_ups_total", "poolgen_scaling_downs_total",
			"poolgen_scaling_evaluations_total", "poolgen_scaling_capped_evaluations_total",
			"poolgen_scaling_utilization_ratio", "poolgen_scaling_surges_total", "poolgen_scaling_downs_held_total",
			"poolgen_scaling_at_max_seconds_total", "poolgen_scaling_at_min_seconds_total"},
		"stealing": {"poolgen_stealing_tasks_total", "poolgen_stealing_steal_attempts_total",
			"poolgen_stealing_steals_total", "poolgen_stealing_stolen_tasks_total", "poolgen_stealing_forks_total",
			"poolgen_stealing_worker_tasks_total", "poolgen_stealing_worker_steals_total",
			"poolgen_stealing_worker_steal_attempts_total", "poolgen_stealing_worker_stolen_tasks_total"},
		"priority": {"poolgen_priority_band_tasks_submitted_total", "poolgen_priority_band_tasks_completed_total",
			"poolgen_priority_band_tasks_panicked_total", "poolgen_priority_band_tasks_returned_total",
			"poolgen_priority_band_wait_seconds", "poolgen_priority_lowest_max_wait_seconds"},
		"deadline": {"poolgen_priority_band_tasks_submitted_total", "poolgen_priority_band_tasks_completed_total",
			"poolgen_priority_band_tasks_panicked_total", "poolgen_priority_band_tasks_returned_total",
			"poolgen_priority_band_wait_seconds", "poolgen_priority_lowest_max_wait_seconds",
			"poolgen_priority_late_tasks_total", "poolgen_priority_lateness_seconds"},
		"batch": {"poolgen_batches_total", "poolgen_batches_failed_total", "poolgen_batch_flushes_total",
			"poolgen_batches_open", "poolgen_batches_ready", "poolgen_batch_size_tasks"},
		"fair": {"poolgen_fair_tenants", "poolgen_fair_tenants_backlogged", "poolgen_fair_tenants_forgotten_total",
			"poolgen_fair_tenant_queue_full_total", "poolgen_fair_tenant_busy_seconds_total",
			"poolgen_fair_tenant_tasks_submitted_total", "poolgen_fair_tenant_tasks_ended_total",
			"poolgen_fair_tenant_queued_tasks", "poolgen_fair_tenant_running_tasks", "poolgen_fair_tenant_weight"},
		"pinned": {"poolgen_affinity_workers_pinned", "poolgen_affinity_cpus", "poolgen_affinity_numa_nodes",
			"poolgen_affinity_pin_failures_total", "poolgen_affinity_cpu_seconds_total",
			"poolgen_affinity_pinned_seconds_total", "poolgen_affinity_cpu_utilization_ratio",
			"poolgen_affinity_worker_cpu_seconds_total",
			"poolgen_resources_open", "poolgen_resources_workers_unhealthy", "poolgen_resources_opened_total",
			"poolgen_resources_closed_total", "poolgen_resources_open_failures_total"},
		"scheduled": {"poolgen_scheduled_tasks_total", "poolgen_scheduled_pending_tasks", "poolgen_scheduled_limit_tasks",
			"poolgen_scheduled_tasks_fired_total", "poolgen_scheduled_tasks_canceled_total",
			"poolgen_scheduled_tasks_returned_total"},
		"router": {"poolgen_router_unknown_class_total", "poolgen_router_lend_budget_workers",
			"poolgen_router_lend_moves_total", "poolgen_router_class_workers", "poolgen_router_class_workers_busy",
			"poolgen_router_class_queue_depth_tasks", "poolgen_router_class_tasks_submitted_total",
			"poolgen_router_class_tasks_completed_total", "poolgen_router_class_tasks_failed_total",
			"poolgen_router_class_min_workers", "poolgen_router_class_limit_workers"},
	}
	all := map[string]bool{}
	for _, p := range fixturePools() {
		fams := gather(t, newCollector(t, []poolmon.Pool{p}))
		want := append(slices.Clone(common), own[p.Name]...)
		var got []string
		for name := range fams {
			got = append(got, name)
			all[name] = true
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s pool: families\n%q\nwant\n%q", p.Name, got, want)
		}
	}
	if len(all) != len(allFamilies) {
		t.Errorf("the fixture's pools export %d families; Describe sends %d", len(all), len(allFamilies))
	}
	for name := range all {
		if !strings.HasPrefix(name, "poolgen_") {
			t.Errorf("%s: no poolgen_ prefix", name)
		}
	}
}

// latencyBounds are the bounds of the latency histograms' finite
// buckets, as the package documentation gives them: 1.024µs·2^i for i =
// 0, 2, 4, 6, 8, 10 to 20, 22, 24 and 26.
var latencyBounds = []float64{
	1.024e-6, 4.096e-6, 16.384e-6, 65.536e-6, 262.144e-6,
	1.048576e-3, 2.097152e-3, 4.194304e-3, 8.388608e-3, 16.777216e-3, 33.554432e-3, 67.108864e-3,
	0.134217728, 0.268435456, 0.536870912, 1.073741824,
	4.294967296, 17.179869184, 68.719476736,
}

// classEnd returns the upper end, in seconds, of the class i of
// poolrt.Latency.Buckets (exclusive): 1.024µs·2^i, +Inf for the last.
func classEnd(i int) float64 {
	if i == len(poolrt.Latency{}.Buckets)-1 {
		return math.Inf(1)
	}
	return 1.024e-6 * math.Pow(2, float64(i))
}

// checkHistogram checks a histogram's buckets: the bounds want, in
// order, and each bucket counting exactly the classes whose upper end
// (end(i), exclusive or inclusive) is at most its bound, which makes the
// bound a true upper bound of what the bucket counts; +Inf, the count,
// counts them all. It returns the number of buckets, +Inf included.
func checkHistogram(t *testing.T, what string, h *dto.Histogram, want []float64, classes []uint64, end func(i int) float64) int {
	t.Helper()
	b := h.GetBucket()
	if len(b) != len(want) {
		t.Fatalf("%s: %d finite buckets, want %d", what, len(b), len(want))
	}
	var all uint64
	for _, n := range classes {
		all += n
	}
	for k, bucket := range b {
		bound := bucket.GetUpperBound()
		if math.Abs(bound-want[k]) > want[k]*1e-12 {
			t.Errorf("%s: bucket %d bound %g, want %g", what, k, bound, want[k])
		}
		var below uint64
		for i, n := range classes {
			if end(i) <= bound*(1+1e-12) {
				below += n
			}
		}
		if bucket.GetCumulativeCount() != below {
			t.Errorf("%s: bucket le=%g counts %d, want the %d of the classes ending at or below it", what,
				bound, bucket.GetCumulativeCount(), below)
		}
	}
	if h.GetSampleCount() < all {
		t.Errorf("%s: count %d, below the classes' %d", what, h.GetSampleCount(), all)
	}
	return len(b) + 1
}

// TestLatencyHistogram checks the wait, run and lateness histograms
// against the exact classes they come from: 20 buckets at most, +Inf
// included, each counting the classes that end at or below its bound,
// _count the number of sampled tasks, _sum the mean times it.
func TestLatencyHistogram(t *testing.T) {
	pools := fixturePools()
	fams := gather(t, newCollector(t, pools))
	check := func(family string, labels map[string]string, l poolrt.Latency) {
		t.Helper()
		h := series(t, fams[family], labels).GetHistogram()
		if h.GetSampleCount() != l.Count {
			t.Errorf("%s %v: count %d, want %d", family, labels, h.GetSampleCount(), l.Count)
		}
		if want := l.Mean.Seconds() * float64(l.Count); math.Abs(h.GetSampleSum()-want) > 1e-12 {
			t.Errorf("%s %v: sum %g, want %g", family, labels, h.GetSampleSum(), want)
		}
		if n := checkHistogram(t, family, h, latencyBounds, l.Buckets[:], classEnd); n > 20 {
			t.Errorf("%s: %d buckets, want 20 at most", family, n)
		}
	}
	fixed := named(t, pools, "fixed")
	check("poolgen_task_wait_seconds", map[string]string{"pool": "fixed"}, fixed.Stats.Wait)
	check("poolgen_task_run_seconds", map[string]string{"pool": "fixed"}, fixed.Stats.Run)
	prio := named(t, pools, "priority").Stats.Priority
	check("poolgen_priority_band_wait_seconds", map[string]string{"pool": "priority", "band": "-inf..4"}, prio.Bands[0].Wait)
	check("poolgen_priority_band_wait_seconds", map[string]string{"pool": "priority", "band": "5..+inf"}, prio.Bands[1].Wait)
	late := named(t, pools, "deadline").Stats.Priority.Lateness
	check("poolgen_priority_lateness_seconds", map[string]string{"pool": "deadline"}, late)

	// Every class counted, one observation each: the buckets are the
	// running sums of the classes up to each bucket's last one.
	every := fixed
	for i := range every.Stats.Run.Buckets {
		every.Stats.Run.Buckets[i] = 1
	}
	every.Stats.Run.Count = uint64(len(every.Stats.Run.Buckets))
	fams = gather(t, newCollector(t, []poolmon.Pool{every}))
	h := series(t, fams["poolgen_task_run_seconds"], map[string]string{"pool": "fixed"}).GetHistogram()
	var got []uint64
	for _, b := range h.GetBucket() {
		got = append(got, b.GetCumulativeCount())
	}
	if want := []uint64{1, 3, 5, 7, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 25, 27}; !slices.Equal(got, want) {
		t.Errorf("one observation per class: buckets %v, want %v", got, want)
	}
	if h.GetSampleCount() != 28 {
		t.Errorf("one observation per class: count %d, want 28", h.GetSampleCount())
	}

	// A Latency read while tasks finish may have counted an observation
	// in its classes and not yet in Count: the +Inf bucket (the count)
	// stays no smaller than the finite ones.
	torn := fixed
	torn.Stats.Run.Count--
	fams = gather(t, newCollector(t, []poolmon.Pool{torn}))
	h = series(t, fams["poolgen_task_run_seconds"], map[string]string{"pool": "fixed"}).GetHistogram()
	if h.GetSampleCount() != fixed.Stats.Run.Count {
		t.Errorf("torn snapshot: count %d, want the classes' sum %d", h.GetSampleCount(), fixed.Stats.Run.Count)
	}
}

// TestLatencyBucketsTrueBounds records durations at the edges of every
// class of the pools' own histogram (poolimpl.Histogram, as the pools
// record waits and run times), one at a time, and checks the exported
// histogram: the first bucket that counts the duration has a bound at or
// above it, and the bucket before it a bound at or below it. So a merged
// bucket's bound is a true upper bound of every class it holds, and
// merging loses no more than the width of a bucket.
func TestLatencyBucketsTrueBounds(t *testing.T) {
	var durations []time.Duration
	for i := range len(poolrt.Latency{}.Buckets) {
		edge := time.Duration(1024) << i
		durations = append(durations, edge-1, edge, edge+1)
	}
	durations = append(durations, 0, 1, 3*time.Microsecond, 150*time.Millisecond, 5*time.Minute, 1<<50)
	for _, d := range durations {
		var h poolimpl.Histogram
		h.Record(d)
		var snap poolimpl.HistogramSnapshot
		h.AddTo(&snap)
		p := named(t, fixturePools(), "fixed")
		p.Stats.Run = snap.Latency()
		fams := gather(t, newCollector(t, []poolmon.Pool{p}))
		hist := series(t, fams["poolgen_task_run_seconds"], map[string]string{"pool": "fixed"}).GetHistogram()
		if hist.GetSampleCount() != 1 {
			t.Fatalf("%v: count %d, want 1", d, hist.GetSampleCount())
		}
		lower, upper := 0.0, math.Inf(1)
		for _, b := range hist.GetBucket() {
			if b.GetCumulativeCount() == 1 {
				upper = b.GetUpperBound()
				break
			}
			lower = b.GetUpperBound()
		}
		if s := d.Seconds(); s > upper || s < lower {
			t.Errorf("%v (%gs) is counted first by the bucket le=%g, after le=%g: not within them", d, s, upper, lower)
		}
	}
}

// TestFairTenants checks a fair pool's per-tenant series against its
// Stats: one series per listed tenant, labeled by its key.
func TestFairTenants(t *testing.T) {
	fs := named(t, fixturePools(), "fair").Stats.Fair
	fams := gather(t, newCollector(t, fixturePools()))
	for _, ts := range fs.Top {
		labels := map[string]string{"pool": "fair", "tenant": ts.Tenant}
		if got := series(t, fams["poolgen_fair_tenant_busy_seconds_total"], labels).GetCounter().GetValue(); got != ts.Busy.Seconds() {
			t.Errorf("%s: busy %g s, want %g", ts.Tenant, got, ts.Busy.Seconds())
		}
		if got := series(t, fams["poolgen_fair_tenant_tasks_submitted_total"], labels).GetCounter().GetValue(); got != float64(ts.Submitted) {
			t.Errorf("%s: submitted %g, want %d", ts.Tenant, got, ts.Submitted)
		}
		if got := series(t, fams["poolgen_fair_tenant_queued_tasks"], labels).GetGauge().GetValue(); got != float64(ts.Queued) {
			t.Errorf("%s: queued %g, want %d", ts.Tenant, got, ts.Queued)
		}
		if got := series(t, fams["poolgen_fair_tenant_weight"], labels).GetGauge().GetValue(); got != float64(ts.Weight) {
			t.Errorf("%s: weight %g, want %d", ts.Tenant, got, ts.Weight)
		}
	}
	if n := len(fams["poolgen_fair_tenant_weight"].GetMetric()); n != len(fs.Top) {
		t.Errorf("%d tenants' series, want %d", n, len(fs.Top))
	}
	if got := series(t, fams["poolgen_fair_tenants_backlogged"], map[string]string{"pool": "fair"}).GetGauge().GetValue(); got != float64(fs.Backlogged) {
		t.Errorf("backlogged %g, want %d", got, fs.Backlogged)
	}
}

// TestAffinityAndResources checks the pinned pool's series against its
// Stats: seconds from durations, the worker slots past the label cap
// summed as worker="other".
func TestAffinityAndResources(t *testing.T) {
	st := named(t, fixturePools(), "pinned").Stats
	a, r := st.Affinity, st.Resources
	fams := gather(t, newCollector(t, fixturePools(), MaxWorkerLabels(2)))
	pool := map[string]string{"pool": "pinned"}
	value := func(name string, labels map[string]string) float64 {
		m := series(t, fams[name], labels)
		if c := m.GetCounter(); c != nil {
			return c.GetValue()
		}
		return m.GetGauge().GetValue()
	}
	for name, want := range map[string]float64{
		"poolgen_affinity_workers_pinned":        float64(a.Pinned),
		"poolgen_affinity_cpus":                  float64(a.CPUs),
		"poolgen_affinity_numa_nodes":            float64(a.NUMANodes),
		"poolgen_affinity_pin_failures_total":    float64(a.PinFailed),
		"poolgen_affinity_cpu_seconds_total":     a.CPUTime.Seconds(),
		"poolgen_affinity_pinned_seconds_total":  a.PinnedTime.Seconds(),
		"poolgen_affinity_cpu_utilization_ratio": a.CPUUtilization,
		"poolgen_resources_open":                 float64(r.Open),
		"poolgen_resources_workers_unhealthy":    float64(r.Unhealthy),
		"poolgen_resources_opened_total":         float64(r.Opened),
		"poolgen_resources_closed_total":         float64(r.Closed),
		"poolgen_resources_open_failures_total":  float64(r.Failed),
	} {
		if got := value(name, pool); got != want {
			t.Errorf("%s = %g, want %g", name, got, want)
		}
	}
	for worker, want := range map[string]float64{"0": 3, "1": 2, OtherWorkers: 1} {
		if got := value("poolgen_affinity_worker_cpu_seconds_total", map[string]string{"pool": "pinned", "worker": worker}); got != want {
			t.Errorf("worker %s: %g CPU seconds, want %g", worker, got, want)
		}
	}
	if n := len(fams["poolgen_affinity_worker_cpu_seconds_total"].GetMetric()); n != 3 {
		t.Errorf("%d worker series, want 3 (two slots and other)", n)
	}
}

// TestRouterSection checks a router's series against its per-class
// Stats: every class has its gauges and counters, only lent classes
// their limits.
func TestRouterSection(t *testing.T) {
	rs := named(t, fixturePools(), "router").Stats.Router
	fams := gather(t, newCollector(t, fixturePools()))
	if got := series(t, fams["poolgen_router_unknown_class_total"], map[string]string{"pool": "router"}).GetCounter().GetValue(); got != float64(rs.Unknown) {
		t.Errorf("unknown %g, want %d", got, rs.Unknown)
	}
	if got := series(t, fams["poolgen_router_lend_budget_workers"], map[string]string{"pool": "router"}).GetGauge().GetValue(); got != float64(rs.Budget) {
		t.Errorf("budget %g, want %d", got, rs.Budget)
	}
	lent := 0
	for _, cs := range rs.Classes {
		labels := map[string]string{"pool": "router", "class": cs.Class}
		if got := series(t, fams["poolgen_router_class_queue_depth_tasks"], labels).GetGauge().GetValue(); got != float64(cs.Stats.QueueDepth) {
			t.Errorf("class %s: queue %g, want %d", cs.Class, got, cs.Stats.QueueDepth)
		}
		if got := series(t, fams["poolgen_router_class_tasks_completed_total"], labels).GetCounter().GetValue(); got != float64(cs.Stats.Completed) {
			t.Errorf("class %s: completed %g, want %d", cs.Class, got, cs.Stats.Completed)
		}
		if cs.Lent {
			lent++
			if got := series(t, fams["poolgen_router_class_limit_workers"], labels).GetGauge().GetValue(); got != float64(cs.Limit) {
				t.Errorf("class %s: limit %g, want %d", cs.Class, got, cs.Limit)
			}
		}
	}
	if n := len(fams["poolgen_router_class_limit_workers"].GetMetric()); n != lent {
		t.Errorf("%d classes with a limit, want the %d lent ones", n, lent)
	}
	if n := len(fams["poolgen_router_class_workers"].GetMetric()); n != len(rs.Classes) {
		t.Errorf("%d classes' workers, want %d", n, len(rs.Classes))
	}

	noLend := *rs
	noLend.Budget, noLend.Classes = 0, nil
	p := named(t, fixturePools(), "router")
	p.Stats.Router = &noLend
	fams = gather(t, newCollector(t, []poolmon.Pool{p}))
	if fams["poolgen_router_lend_budget_workers"] != nil || fams["poolgen_router_lend_moves_total"] != nil {
		t.Error("a router that does not lend exports lending families")
	}
}

// TestBatchSizeHistogram checks the batch size histogram against the size
// classes: the bucket le=2^i counts the batches of at most 2^i tasks.
func TestBatchSizeHistogram(t *testing.T) {
	bs := named(t, fixturePools(), "batch").Stats.Batch
	fams := gather(t, newCollector(t, fixturePools()))
	h := series(t, fams["poolgen_batch_size_tasks"], map[string]string{"pool": "batch"}).GetHistogram()
	if h.GetSampleCount() != bs.Batches || h.GetSampleSum() != bs.MeanSize*float64(bs.Batches) {
		t.Errorf("count %d, sum %g; want %d, %g", h.GetSampleCount(), h.GetSampleSum(), bs.Batches, bs.MeanSize*float64(bs.Batches))
	}
	want := map[float64]uint64{1: 1, 2: 1, 16: 1, 32: 3, 64: 12, 1 << 18: 12}
	for _, b := range h.GetBucket() {
		if w, ok := want[b.GetUpperBound()]; ok {
			if b.GetCumulativeCount() != w {
				t.Errorf("batches of at most %g tasks: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), w)
			}
			delete(want, b.GetUpperBound())
		}
	}
	if len(want) > 0 {
		t.Errorf("no buckets for %v", want)
	}

	// One batch in every size class: the bucket le=2^i counts the classes
	// up to i, each of whose batches has at most 2^i tasks; the classes
	// past 2^18 are in +Inf only.
	p := named(t, fixturePools(), "batch")
	every := *p.Stats.Batch
	for i := range every.Sizes {
		every.Sizes[i] = 1
	}
	p.Stats.Batch = &every
	fams = gather(t, newCollector(t, []poolmon.Pool{p}))
	h = series(t, fams["poolgen_batch_size_tasks"], map[string]string{"pool": "batch"}).GetHistogram()
	bounds := make([]float64, 19)
	for i := range bounds {
		bounds[i] = math.Ldexp(1, i)
	}
	sizeEnd := func(i int) float64 { return math.Ldexp(1, i) } // the largest batch of class i
	if n := checkHistogram(t, "poolgen_batch_size_tasks", h, bounds, every.Sizes[:], sizeEnd); n > 20 {
		t.Errorf("poolgen_batch_size_tasks: %d buckets, want 20 at most", n)
	}
	if h.GetSampleCount() != uint64(len(every.Sizes)) {
		t.Errorf("count %d, want one batch per class: %d", h.GetSampleCount(), len(every.Sizes))
	}
}

// TestBreaker checks the circuit breaker families against the fixture:
// transitions by state entered, breakers by state, and one series per
// listed breaker and state, 1 for its state.
func TestBreaker(t *testing.T) {
	fams := gather(t, newCollector(t, fixturePools()))
	pool := func(extra map[string]string) map[string]string {
		l := map[string]string{"pool": "breaker"}
		for k, v := range extra {
			l[k] = v
		}
		return l
	}
	for _, c := range []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"poolgen_breaker_transitions_total", map[string]string{"to": "open"}, 3},
		{"poolgen_breaker_transitions_total", map[string]string{"to": "half_open"}, 2},
		{"poolgen_breaker_transitions_total", map[string]string{"to": "closed"}, 1},
		{"poolgen_breaker_tasks_failed_fast_total", nil, 40},
		{"poolgen_breaker_tasks_held_total", nil, 5},
		{"poolgen_breaker_tasks_holding", nil, 2},
		{"poolgen_breakers", map[string]string{"state": "closed"}, 1},
		{"poolgen_breakers", map[string]string{"state": "open"}, 1},
		{"poolgen_breakers", map[string]string{"state": "half_open"}, 1},
		{"poolgen_breaker_state", map[string]string{"key": "billing", "state": "open"}, 1},
		{"poolgen_breaker_state", map[string]string{"key": "billing", "state": "closed"}, 0},
		{"poolgen_breaker_state", map[string]string{"key": "search", "state": "half_open"}, 1},
		{"poolgen_breaker_state", map[string]string{"key": "mail", "state": "closed"}, 1},
		{"poolgen_breaker_state", map[string]string{"key": "mail", "state": "open"}, 0},
	} {
		m := series(t, fams[c.family], pool(c.labels))
		got := m.GetCounter().GetValue() + m.GetGauge().GetValue()
		if got != c.want {
			t.Errorf("%s%v = %g, want %g", c.family, c.labels, got, c.want)
		}
	}
	if n := len(fams["poolgen_breaker_state"].GetMetric()); n != 3*3 {
		t.Errorf("poolgen_breaker_state: %d series, want 9", n)
	}
}

// TestWorkerLabels checks that work-stealing workers from the cap up are
// summed into worker="other", and that totals are kept.
func TestWorkerLabels(t *testing.T) {
	stealing := named(t, fixturePools(), "stealing")
	ws := stealing.Stats.Stealing.Workers
	for _, c := range []struct {
		max  int
		want []string
	}{
		{0, []string{"other"}},
		{2, []string{"0", "1", "other"}},
		{4, []string{"0", "1", "2", "3"}},
		{64, []string{"0", "1", "2", "3"}},
	} {
		fams := gather(t, newCollector(t, []poolmon.Pool{stealing}, MaxWorkerLabels(c.max)))
		var got []string
		var steals float64
		for _, m := range fams["poolgen_stealing_worker_steals_total"].GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "worker" {
					got = append(got, lp.GetValue())
				}
			}
			steals += m.GetCounter().GetValue()
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("MaxWorkerLabels(%d): workers %q, want %q", c.max, got, c.want)
		}
		var want uint64
		for _, w := range ws {
			want += w.Steals
		}
		if steals != float64(want) {
			t.Errorf("MaxWorkerLabels(%d): steals sum to %g, want %d", c.max, steals, want)
		}
		if c.max == 2 {
			other := series(t, fams["poolgen_stealing_worker_tasks_total"], map[string]string{"worker": "other", "source": "stolen"})
			if got, want := other.GetCounter().GetValue(), float64(ws[2].Stolen+ws[3].Stolen); got != want {
				t.Errorf("worker=other stole %g tasks, want %g", got, want)
			}
		}
	}
}

// TestDuplicateNames checks that a second pool of a name already seen in
// the scrape is skipped rather than failing the whole scrape.
func TestDuplicateNames(t *testing.T) {
	fixed := named(t, fixturePools(), "fixed")
	twin := fixed
	twin.Stats.Submitted = 1
	fams := gather(t, newCollector(t, []poolmon.Pool{fixed, twin}))
	m := series(t, fams["poolgen_tasks_submitted_total"], map[string]string{"pool": "fixed"})
	if m.GetCounter().GetValue() != float64(fixed.Stats.Submitted) {
		t.Errorf("submitted %g, want the first pool's %d", m.GetCounter().GetValue(), fixed.Stats.Submitted)
	}
}

func TestOptions(t *testing.T) {
	for _, c := range []struct {
		opt  Option
		want string
	}{
		{Source(nil), "poolgen: poolprom.Source: the pool source is nil"},
		{MaxWorkerLabels(-1), "poolgen: poolprom.MaxWorkerLabels(-1): want 0 or more"},
	} {
		if got, err := New(c.opt); err == nil || err.Error() != c.want || got != nil {
			t.Errorf("New: %v, %v; want nil, %q", got, err, c.want)
		}
	}
}

// TestDefaultSource checks that New without Source reads poolmon.Pools:
// with no named pool running, a scrape has no series.
func TestDefaultSource(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if len(poolmon.Pools()) == 0 {
		if n := testutil.CollectAndCount(c); n != 0 {
			t.Errorf("no named pool runs, yet the scrape has %d series", n)
		}
	}
}

func TestBandLabel(t *testing.T) {
	for _, c := range []struct {
		lo, hi int64
		want   string
	}{
		{math.MinInt64, 4, "-inf..4"},
		{5, 9, "5..9"},
		{-3, -1, "-3..-1"},
		{10, math.MaxInt64, "10..+inf"},
		{math.MinInt64, math.MaxInt64, "-inf..+inf"},
	} {
		if got := BandLabel(c.lo, c.hi); got != c.want {
			t.Errorf("BandLabel(%d, %d) = %q, want %q", c.lo, c.hi, got, c.want)
		}
	}
}

// TestLint runs client_golang's linter, which follows Prometheus's naming
// conventions, over the fixture's families.
func TestLint(t *testing.T) {
	problems, err := testutil.CollectAndLint(newCollector(t, fixturePools()))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// TestPromtool runs promtool check metrics over a real scrape: the
// collector's exposition, with the Go collector's beside it, served by
// promhttp. It skips without promtool, unless
// POOLGEN_REQUIRE_PROMETHEUS=1.
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("POOLGEN_REQUIRE_PROMETHEUS") == "1" {
			t.Fatal("POOLGEN_REQUIRE_PROMETHEUS=1 and no promtool on PATH: install the prometheus package")
		}
		t.Skip("no promtool on PATH (the Debian package prometheus has it)")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(t, manyPools(12)), collectors.NewGoCollector())
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body.String(), "poolgen_task_wait_seconds_bucket{") {
		t.Fatalf("the scrape has no wait histogram:\n%.2000s", body.String())
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = &body
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// BenchmarkScrape measures one scrape of 100 pools (the seven patterns in
// turn), not counting the reading of their statistics: gather only, and
// gather plus the text exposition promhttp serves.
func BenchmarkScrape(b *testing.B) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(b, manyPools(100)))
	b.Run("gather", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := reg.Gather(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("http", func(b *testing.B) {
		h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{DisableCompression: true})
		req := httptest.NewRequest("GET", "/metrics", nil)
		b.ReportAllocs()
		var size int
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			size = w.Body.Len()
		}
		b.ReportMetric(float64(size), "bytes/scrape")
	})
}
