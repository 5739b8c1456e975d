package poolprom

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolmon"
	dto "github.com/prometheus/client_model/go"
)

// everything returns a pool whose Stats has every section, with figures
// in every field: the fixture's pools' sections in one. Each call returns
// fresh sections.
func everything(t *testing.T) poolmon.Pool {
	pools := fixturePools()
	p := named(t, pools, "fixed")
	p.Name = "everything"
	s := &p.Stats
	s.Scaling = named(t, pools, "dynamic").Stats.Scaling
	s.Stealing = named(t, pools, "stealing").Stats.Stealing
	s.Priority = named(t, pools, "deadline").Stats.Priority
	s.Priority.Bands = named(t, pools, "priority").Stats.Priority.Bands
	s.Priority.Aging = time.Second
	s.Batch = named(t, pools, "batch").Stats.Batch
	s.Router = named(t, pools, "router").Stats.Router
	s.Breaker = named(t, pools, "breaker").Stats.Breaker
	s.Affinity = named(t, pools, "pinned").Stats.Affinity
	s.Resources = named(t, pools, "pinned").Stats.Resources
	s.Fair = named(t, pools, "fair").Stats.Fair
	s.Scheduled = named(t, pools, "scheduled").Stats.Scheduled
	return p
}

// statsFamilies says which families each field of poolrt.Stats feeds,
// by its path (a slice's elements by the slice's name): a change of the
// field must change exactly these families. Every field is here or in
// statsLeftOut.
var statsFamilies = map[string][]string{
	"Workers":        {"poolgen_workers"},
	"Busy":           {"poolgen_workers_busy"},
	"Idle":           {"poolgen_workers_idle"},
	"QueueDepth":     {"poolgen_queue_depth_tasks"},
	"QueueCap":       {"poolgen_queue_capacity_tasks"},
	"Submitted":      {"poolgen_tasks_submitted_total"},
	"Rejected":       {"poolgen_tasks_rejected_total"},
	"CallerRuns":     {"poolgen_tasks_caller_runs_total"},
	"Completed":      {"poolgen_tasks_completed_total"},
	"Failed":         {"poolgen_tasks_failed_total"},
	"Panicked":       {"poolgen_tasks_panicked_total"},
	"TimedOut":       {"poolgen_tasks_timed_out_total"},
	"Returned":       {"poolgen_tasks_returned_total"},
	"Retries":        {"poolgen_task_retries_total"},
	"RetrySucceeded": {"poolgen_tasks_retry_succeeded_total"},
	"DeadLettered":   {"poolgen_tasks_dead_lettered_total"},
	"HookPanics":     {"poolgen_hook_panics_total"},
	"Stuck":          {"poolgen_workers_stuck"},
	"StuckTasks":     {"poolgen_tasks_stuck_total"},
	"Utilization":    {"poolgen_utilization_ratio"},
	"Wait.Count":     {"poolgen_task_wait_seconds"},
	"Wait.Mean":      {"poolgen_task_wait_seconds"},
	"Wait.Buckets":   {"poolgen_task_wait_seconds"},
	"Run.Count":      {"poolgen_task_run_seconds"},
	"Run.Mean":       {"poolgen_task_run_seconds"},
	"Run.Buckets":    {"poolgen_task_run_seconds"},
	"Uptime":         {"poolgen_uptime_seconds"},
	"Shed":           {"poolgen_tasks_shed_total"},
	"Shedding":       {"poolgen_shedding"},
	"Paced":          {"poolgen_submits_paced_total"},

	"Scaling.Size":             {"poolgen_scaling_size_workers"},
	"Scaling.Min":              {"poolgen_scaling_min_workers"},
	"Scaling.Max":              {"poolgen_scaling_max_workers"},
	"Scaling.Peak":             {"poolgen_scaling_peak_workers"},
	"Scaling.Ups":              {"poolgen_scaling_ups_total"},
	"Scaling.Downs":            {"poolgen_scaling_downs_total"},
	"Scaling.Evaluations":      {"poolgen_scaling_evaluations_total"},
	"Scaling.Surges":           {"poolgen_scaling_surges_total"},
	"Scaling.Capped":           {"poolgen_scaling_capped_evaluations_total"},
	"Scaling.Held":             {"poolgen_scaling_downs_held_total"},
	"Scaling.AtMax":            {"poolgen_scaling_at_max_seconds_total"},
	"Scaling.AtMin":            {"poolgen_scaling_at_min_seconds_total"},
	"Scaling.Last.Utilization": {"poolgen_scaling_utilization_ratio"},

	"Stealing.Local":                 {"poolgen_stealing_tasks_total"},
	"Stealing.Injector":              {"poolgen_stealing_tasks_total"},
	"Stealing.Stolen":                {"poolgen_stealing_tasks_total"},
	"Stealing.StealAttempts":         {"poolgen_stealing_steal_attempts_total"},
	"Stealing.Steals":                {"poolgen_stealing_steals_total"},
	"Stealing.StolenTasks":           {"poolgen_stealing_stolen_tasks_total"},
	"Stealing.Forked":                {"poolgen_stealing_forks_total"},
	"Stealing.ForkedToInjector":      {"poolgen_stealing_forks_total"},
	"Stealing.ForkedInline":          {"poolgen_stealing_forks_total"},
	"Stealing.Workers.Local":         {"poolgen_stealing_worker_tasks_total"},
	"Stealing.Workers.Injector":      {"poolgen_stealing_worker_tasks_total"},
	"Stealing.Workers.Stolen":        {"poolgen_stealing_worker_tasks_total"},
	"Stealing.Workers.StealAttempts": {"poolgen_stealing_worker_steal_attempts_total"},
	"Stealing.Workers.Steals":        {"poolgen_stealing_worker_steals_total"},
	"Stealing.Workers.StolenTasks":   {"poolgen_stealing_worker_stolen_tasks_total"},

	"Priority.Kind": {"poolgen_priority_late_tasks_total", "poolgen_priority_lateness_seconds"},
	"Priority.Bands.Lo": {"poolgen_priority_band_tasks_submitted_total", "poolgen_priority_band_tasks_completed_total",
		"poolgen_priority_band_tasks_panicked_total", "poolgen_priority_band_tasks_returned_total",
		"poolgen_priority_band_wait_seconds"},
	"Priority.Bands.Hi": {"poolgen_priority_band_tasks_submitted_total", "poolgen_priority_band_tasks_completed_total",
		"poolgen_priority_band_tasks_panicked_total", "poolgen_priority_band_tasks_returned_total",
		"poolgen_priority_band_wait_seconds"},
	"Priority.Bands.Submitted":    {"poolgen_priority_band_tasks_submitted_total"},
	"Priority.Bands.Completed":    {"poolgen_priority_band_tasks_completed_total"},
	"Priority.Bands.Panicked":     {"poolgen_priority_band_tasks_panicked_total"},
	"Priority.Bands.Returned":     {"poolgen_priority_band_tasks_returned_total"},
	"Priority.Bands.Wait.Count":   {"poolgen_priority_band_wait_seconds"},
	"Priority.Bands.Wait.Mean":    {"poolgen_priority_band_wait_seconds"},
	"Priority.Bands.Wait.Buckets": {"poolgen_priority_band_wait_seconds"},
	"Priority.LowestMaxWait":      {"poolgen_priority_lowest_max_wait_seconds"},
	"Priority.Missed":             {"poolgen_priority_late_tasks_total"},
	"Priority.Dropped":            {"poolgen_priority_late_tasks_total"},
	"Priority.HandedOff":          {"poolgen_priority_late_tasks_total"},
	"Priority.Lateness.Count":     {"poolgen_priority_lateness_seconds"},
	"Priority.Lateness.Mean":      {"poolgen_priority_lateness_seconds"},
	"Priority.Lateness.Buckets":   {"poolgen_priority_lateness_seconds"},

	"Batch.Batches":  {"poolgen_batches_total"},
	"Batch.Failed":   {"poolgen_batches_failed_total"},
	"Batch.Sizes":    {"poolgen_batch_size_tasks"},
	"Batch.MeanSize": {"poolgen_batch_size_tasks"},
	"Batch.Full":     {"poolgen_batch_flushes_total"},
	"Batch.Linger":   {"poolgen_batch_flushes_total"},
	"Batch.Idle":     {"poolgen_batch_flushes_total"},
	"Batch.Shutdown": {"poolgen_batch_flushes_total"},
	"Batch.Open":     {"poolgen_batches_open"},
	"Batch.Ready":    {"poolgen_batches_ready"},

	"Router.Classes.Class": {"poolgen_router_class_workers", "poolgen_router_class_workers_busy",
		"poolgen_router_class_queue_depth_tasks", "poolgen_router_class_tasks_submitted_total",
		"poolgen_router_class_tasks_completed_total", "poolgen_router_class_tasks_failed_total",
		"poolgen_router_class_min_workers", "poolgen_router_class_limit_workers"},
	"Router.Classes.Lent":             {"poolgen_router_class_min_workers", "poolgen_router_class_limit_workers"},
	"Router.Classes.Min":              {"poolgen_router_class_min_workers"},
	"Router.Classes.Limit":            {"poolgen_router_class_limit_workers"},
	"Router.Classes.Stats.Workers":    {"poolgen_router_class_workers"},
	"Router.Classes.Stats.Busy":       {"poolgen_router_class_workers_busy"},
	"Router.Classes.Stats.QueueDepth": {"poolgen_router_class_queue_depth_tasks"},
	"Router.Classes.Stats.Submitted":  {"poolgen_router_class_tasks_submitted_total"},
	"Router.Classes.Stats.Completed":  {"poolgen_router_class_tasks_completed_total"},
	"Router.Classes.Stats.Failed":     {"poolgen_router_class_tasks_failed_total"},
	"Router.Unknown":                  {"poolgen_router_unknown_class_total"},
	"Router.Budget":                   {"poolgen_router_lend_budget_workers"},
	"Router.Moves":                    {"poolgen_router_lend_moves_total"},

	"Breaker.Opens":        {"poolgen_breaker_transitions_total"},
	"Breaker.HalfOpens":    {"poolgen_breaker_transitions_total"},
	"Breaker.Closes":       {"poolgen_breaker_transitions_total"},
	"Breaker.FailedFast":   {"poolgen_breaker_tasks_failed_fast_total"},
	"Breaker.Held":         {"poolgen_breaker_tasks_held_total"},
	"Breaker.Holding":      {"poolgen_breaker_tasks_holding"},
	"Breaker.Keys":         {"poolgen_breakers"},
	"Breaker.Open":         {"poolgen_breakers"},
	"Breaker.HalfOpen":     {"poolgen_breakers"},
	"Breaker.States.Key":   {"poolgen_breaker_state"},
	"Breaker.States.State": {"poolgen_breaker_state"},

	"Affinity.Pinned":         {"poolgen_affinity_workers_pinned"},
	"Affinity.CPUs":           {"poolgen_affinity_cpus"},
	"Affinity.NUMANodes":      {"poolgen_affinity_numa_nodes"},
	"Affinity.PinFailed":      {"poolgen_affinity_pin_failures_total"},
	"Affinity.CPUTime":        {"poolgen_affinity_cpu_seconds_total"},
	"Affinity.PinnedTime":     {"poolgen_affinity_pinned_seconds_total"},
	"Affinity.CPUUtilization": {"poolgen_affinity_cpu_utilization_ratio"},
	"Affinity.WorkerCPU":      {"poolgen_affinity_worker_cpu_seconds_total"},

	"Resources.Open":      {"poolgen_resources_open"},
	"Resources.Unhealthy": {"poolgen_resources_workers_unhealthy"},
	"Resources.Opened":    {"poolgen_resources_opened_total"},
	"Resources.Closed":    {"poolgen_resources_closed_total"},
	"Resources.Failed":    {"poolgen_resources_open_failures_total"},

	"Fair.Tenants":        {"poolgen_fair_tenants"},
	"Fair.Backlogged":     {"poolgen_fair_tenants_backlogged"},
	"Fair.Forgotten":      {"poolgen_fair_tenants_forgotten_total"},
	"Fair.TenantRejected": {"poolgen_fair_tenant_queue_full_total"},
	"Fair.Top.Tenant": {"poolgen_fair_tenant_busy_seconds_total", "poolgen_fair_tenant_tasks_submitted_total",
		"poolgen_fair_tenant_tasks_ended_total", "poolgen_fair_tenant_queued_tasks",
		"poolgen_fair_tenant_running_tasks", "poolgen_fair_tenant_weight"},
	"Fair.Top.Weight":    {"poolgen_fair_tenant_weight"},
	"Fair.Top.Queued":    {"poolgen_fair_tenant_queued_tasks"},
	"Fair.Top.Running":   {"poolgen_fair_tenant_running_tasks"},
	"Fair.Top.Submitted": {"poolgen_fair_tenant_tasks_submitted_total"},
	"Fair.Top.Ended":     {"poolgen_fair_tenant_tasks_ended_total"},
	"Fair.Top.Busy":      {"poolgen_fair_tenant_busy_seconds_total"},

	"Scheduled.Scheduled": {"poolgen_scheduled_tasks_total"},
	"Scheduled.Pending":   {"poolgen_scheduled_pending_tasks"},
	"Scheduled.Fired":     {"poolgen_scheduled_tasks_fired_total"},
	"Scheduled.Canceled":  {"poolgen_scheduled_tasks_canceled_total"},
	"Scheduled.Returned":  {"poolgen_scheduled_tasks_returned_total"},
	"Scheduled.Limit":     {"poolgen_scheduled_limit_tasks"},
}

// statsNotValues are the fields of statsFamilies that are labels or
// choose series rather than give a value.
var statsNotValues = map[string]bool{
	"Priority.Kind": true, "Priority.Bands.Lo": true, "Priority.Bands.Hi": true,
	"Breaker.States.State": true,
}

// statsLeftOut are the fields of poolrt.Stats the collector does not
// export, and why; a path covers the fields under it, except those in
// statsFamilies.
var statsLeftOut = map[string]string{
	"Wait.P50": "a percentile: the buckets carry the distribution, and histogram_quantile reads it",
	"Wait.P95": "a percentile", "Wait.P99": "a percentile", "Wait.P999": "a percentile",
	"Wait.Max": "the largest since the pool started: a rate cannot be taken of it",
	"Run.P50":  "a percentile", "Run.P95": "a percentile", "Run.P99": "a percentile", "Run.P999": "a percentile",
	"Run.Max":                 "the largest since the pool started",
	"Scaling.Last":            "the controller's inputs, of which its utilization is exported; the others are the pool's own gauges at one instant",
	"Scaling.Events":          "a log of changes of size, not a figure: poolmon's page shows it",
	"Priority.Aging":          "a setting, not a figure",
	"Priority.Bands.Wait":     "the band's latency percentiles",
	"Priority.Lateness":       "the lateness percentiles",
	"Router.Classes.Default":  "which route takes unknown classes: a setting",
	"Router.Classes.Stats":    "a class's pool is exported as itself when it has a name; the router exports a few figures per class",
	"Breaker.States.Failures": "a closed breaker's failures in a row: momentary, shown by poolmon",
	"Fair.Top.Share":          "the rate of a tenant's busy seconds over the sum of the rates",
}

// statsPaths returns the paths of the leaf fields under t (a struct),
// prefixed with prefix: a struct, or a pointer to or slice of one, is
// walked into unless statsLeftOut leaves it out whole; arrays, slices of
// numbers and time.Time are leaves.
func statsPaths(t reflect.Type, prefix string) []string {
	var paths []string
	for f := range t.Fields() {
		path := prefix + f.Name
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Time]() && walkInto(path) {
			paths = append(paths, statsPaths(ft, path+".")...)
			continue
		}
		paths = append(paths, path)
	}
	return paths
}

// walkInto says whether the struct at path has fields to check: it is not
// left out, or statsFamilies names a field under it.
func walkInto(path string) bool {
	if _, out := leftOut(path); !out {
		return true
	}
	for p := range statsFamilies {
		if strings.HasPrefix(p, path+".") {
			return true
		}
	}
	return false
}

// leftOut returns the reason the field at path, or a field above it, is
// not exported.
func leftOut(path string) (string, bool) {
	for p := path; ; {
		if why, ok := statsLeftOut[p]; ok {
			return why, true
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			return "", false
		}
		p = p[:i]
	}
}

// perturb changes the field of s at path, in the last element of each
// slice on the way (and the middle element of an array of counts), and
// returns the change in the exported value's unit (seconds for a
// duration); 0 for a change that is not a number.
func perturb(t *testing.T, s *poolrt.Stats, path string) float64 {
	t.Helper()
	v := reflect.ValueOf(s).Elem()
	deref := func() {
		for {
			switch v.Kind() {
			case reflect.Pointer:
				v = v.Elem()
			case reflect.Slice:
				if v.Len() == 0 {
					t.Fatalf("%s: an empty slice on the way", path)
				}
				v = v.Index(v.Len() - 1)
			case reflect.Array:
				v = v.Index(v.Len() / 2)
			default:
				return
			}
		}
	}
	for name := range strings.SplitSeq(path, ".") {
		deref()
		v = v.FieldByName(name)
		if !v.IsValid() {
			t.Fatalf("%s: no field %s", path, name)
		}
	}
	deref()
	switch {
	case v.Type() == reflect.TypeFor[time.Duration]():
		v.SetInt(v.Int() + int64(7*time.Millisecond))
		return (7 * time.Millisecond).Seconds()
	case v.CanInt():
		v.SetInt(v.Int() + 7)
		return 7
	case v.CanUint():
		v.SetUint(v.Uint() + 7)
		return 7
	case v.CanFloat():
		v.SetFloat(v.Float() + 0.125)
		return 0.125
	case v.Kind() == reflect.Bool:
		v.SetBool(!v.Bool())
	case v.Kind() == reflect.String:
		v.SetString(v.String() + "-changed")
	default:
		t.Fatalf("%s: cannot change a %s", path, v.Type())
	}
	return 0
}

// scrapeValues returns each family of a scrape of p as its series' values
// by their labels: a counter's or gauge's value, or a histogram's count,
// sum and buckets as text.
func scrapeValues(t *testing.T, p poolmon.Pool) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for name, mf := range gather(t, newCollector(t, []poolmon.Pool{p})) {
		series := map[string]any{}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, lp.GetName()+"="+lp.GetValue())
			}
			key := strings.Join(labels, ",")
			switch {
			case m.GetHistogram() != nil:
				series[key] = histogramText(m.GetHistogram())
			case m.GetCounter() != nil:
				series[key] = m.GetCounter().GetValue()
			default:
				series[key] = m.GetGauge().GetValue()
			}
		}
		out[name] = series
	}
	return out
}

func histogramText(h *dto.Histogram) string {
	var b strings.Builder
	fmt.Fprintf(&b, "count %d sum %g", h.GetSampleCount(), h.GetSampleSum())
	for _, bk := range h.GetBucket() {
		fmt.Fprintf(&b, " %g:%d", bk.GetUpperBound(), bk.GetCumulativeCount())
	}
	return b.String()
}

// TestEveryStatsField changes each field of a pool's Stats in turn, on a
// pool with every section, and checks that exactly the families
// statsFamilies names change, and for a number that one of the first
// family's series moves by exactly the change: each figure comes from
// its own field and from no other. A field that is neither exported nor
// listed in statsLeftOut with a reason fails the test, so a new field of
// poolrt.Stats is exported or left out knowingly.
func TestEveryStatsField(t *testing.T) {
	base := scrapeValues(t, everything(t))
	seen := map[string]bool{}
	for _, path := range statsPaths(reflect.TypeFor[poolrt.Stats](), "") {
		seen[path] = true
		want, exported := statsFamilies[path]
		if !exported {
			if why, ok := leftOut(path); !ok || why == "" {
				t.Errorf("poolrt.Stats.%s is neither exported nor left out with a reason (statsLeftOut)", path)
			}
			continue
		}
		p := everything(t)
		delta := perturb(t, &p.Stats, path)
		got := scrapeValues(t, p)
		var changed []string
		for name := range mergeKeys(base, got) {
			if !reflect.DeepEqual(base[name], got[name]) {
				changed = append(changed, name)
			}
		}
		slices.Sort(changed)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(changed, want) {
			t.Errorf("changing Stats.%s changed the families %q, want %q", path, changed, want)
			continue
		}
		if delta == 0 || statsNotValues[path] || strings.Contains(histogramFamilies, " "+want[0]+" ") {
			continue
		}
		moved := false
		for key, v := range got[want[0]] {
			if old, ok := base[want[0]][key].(float64); ok && math.Abs(v.(float64)-old-delta) <= 1e-9*math.Max(1, math.Abs(old)) {
				moved = true
			}
		}
		if !moved {
			t.Errorf("changing Stats.%s by %g moved no series of %s by as much:\n%v\nwas\n%v",
				path, delta, want[0], got[want[0]], base[want[0]])
		}
	}
	for path := range statsFamilies {
		if !seen[path] {
			t.Errorf("statsFamilies names %s, which is not a field of poolrt.Stats", path)
		}
	}
	for path := range statsLeftOut {
		if !isField(path) {
			t.Errorf("statsLeftOut names %s, which is not a field of poolrt.Stats", path)
		}
	}
}

// histogramFamilies are the histograms, between spaces.
const histogramFamilies = " poolgen_task_wait_seconds poolgen_task_run_seconds poolgen_priority_band_wait_seconds poolgen_priority_lateness_seconds poolgen_batch_size_tasks "

// isField says whether path names a field of poolrt.Stats.
func isField(path string) bool {
	v := reflect.TypeFor[poolrt.Stats]()
	for name := range strings.SplitSeq(path, ".") {
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Slice {
			v = v.Elem()
		}
		f, ok := v.FieldByName(name)
		if !ok {
			return false
		}
		v = f.Type
	}
	return true
}

func mergeKeys[V any](a, b map[string]V) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// TestHelp checks that the help of the task counters says they are
// exact, and that of the latency histograms that they cover sampled
// tasks (LatencySampling) while the counters are exact.
func TestHelp(t *testing.T) {
	fams := gather(t, newCollector(t, fixturePools()))
	help := func(name string) string {
		t.Helper()
		mf := fams[name]
		if mf == nil {
			t.Fatalf("no family %s", name)
		}
		return mf.GetHelp()
	}
	var exactCounters []string
	for name, mf := range fams {
		if mf.GetType() == dto.MetricType_COUNTER && strings.Contains(name, "tasks") &&
			!strings.Contains(name, "stealing") && !strings.Contains(name, "fair_tenant") &&
			!strings.Contains(name, "breaker") && !strings.Contains(name, "stuck") {
			exactCounters = append(exactCounters, name)
		}
	}
	sort.Strings(exactCounters)
	if len(exactCounters) < 20 {
		t.Errorf("only %d task counters: %q", len(exactCounters), exactCounters)
	}
	for _, name := range append(exactCounters, "poolgen_task_retries_total") {
		if h := help(name); !strings.Contains(h, "Exact: every task is counted") {
			t.Errorf("%s: the help does not say the count is exact: %q", name, h)
		}
	}
	for _, name := range []string{"poolgen_task_wait_seconds", "poolgen_task_run_seconds", "poolgen_priority_band_wait_seconds"} {
		h := help(name)
		if !strings.Contains(h, "Sampled: one task in LatencySampling is timed") || !strings.Contains(h, "counters are exact") {
			t.Errorf("%s: the help does not say it covers sampled tasks and the counters are exact: %q", name, h)
		}
	}
	if h := help("poolgen_priority_lateness_seconds"); !strings.Contains(h, "Every late task is timed, not a sample") {
		t.Errorf("poolgen_priority_lateness_seconds: %q", h)
	}
}

// TestInvalidUTF8Labels checks that labels made from the user's keys —
// tenants, breaker keys, router classes — that are not valid UTF-8 do
// not fail the scrape (nor panic): they are exported quoted, as Go
// writes a string, so that two keys stay two series.
func TestInvalidUTF8Labels(t *testing.T) {
	pools := fixturePools()
	fair := named(t, pools, "fair")
	fair.Stats.Fair.Top[0].Tenant = "acme\xff"
	fair.Stats.Fair.Top[1].Tenant = "acme\xfe"
	breaker := named(t, pools, "breaker")
	breaker.Stats.Breaker.States[0].Key = "\xc3("
	router := named(t, pools, "router")
	router.Stats.Router.Classes[1].Class = "io\x80"
	fams := gather(t, newCollector(t, []poolmon.Pool{fair, breaker, router}))
	for _, c := range []struct {
		family string
		labels map[string]string
	}{
		{"poolgen_fair_tenant_weight", map[string]string{"tenant": strconv.Quote("acme\xff")}},
		{"poolgen_fair_tenant_weight", map[string]string{"tenant": strconv.Quote("acme\xfe")}},
		{"poolgen_fair_tenant_weight", map[string]string{"tenant": "initech"}},
		{"poolgen_breaker_state", map[string]string{"key": `"\xc3("`, "state": "open"}},
		{"poolgen_router_class_limit_workers", map[string]string{"class": `"io\x80"`}},
	} {
		series(t, fams[c.family], c.labels)
	}
}
