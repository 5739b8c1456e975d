package poolprom

import (
	"context"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"
)

// The files of deploy/ that say what an autoscaler scales on.
const (
	scaledObjectFile = "../../deploy/kubernetes/keda-scaledobject.yaml"
	prometheusFile   = "../../deploy/prometheus/prometheus.yml"
	deployReadme     = "../../deploy/README.md"
)

// demandShape is the shape of the demand-per-worker query:
// sum(busy + depth) / sum(capacity or workers), each an avg_over_time of
// a gauge, with a selector (left out in the README's general form) and a
// range; spaces and line breaks between the tokens are free.
var demandShape = func() *regexp.Regexp {
	const gauge = `avg_over_time\((\w+)(?:\{([^}]*)\})?\[(\w+)\]\)`
	return regexp.MustCompile(`^\s*sum\(\s*` + gauge + `\s*\+\s*` + gauge + `\s*\)\s*/\s*sum\(\s*` +
		gauge + `\s+or\s+` + gauge + `\s*\)\s*$`)
}()

// demandQuery is a parsed demand-per-worker query.
type demandQuery struct {
	busy, depth, capacity, workers string            // the four gauges, in the query's order
	selector                       map[string]string // the label matchers, all equalities, the same for the four
	window                         string            // the range of each avg_over_time
}

// parseDemand parses q, which must have demandShape, one selector and
// one range for its four gauges, and only equality matchers.
func parseDemand(t *testing.T, what, q string) demandQuery {
	t.Helper()
	m := demandShape.FindStringSubmatch(q)
	if m == nil {
		t.Fatalf("%s: the query is not sum(busy + depth) / sum(capacity or workers) of avg_over_time:\n%s", what, q)
	}
	d := demandQuery{busy: m[1], depth: m[4], capacity: m[7], workers: m[10], window: m[3]}
	for i := 2; i <= 11; i += 3 {
		if m[i] != m[2] || m[i+1] != m[3] {
			t.Fatalf("%s: the four gauges have different selectors or ranges: %q", what, m)
		}
	}
	d.selector = map[string]string{}
	for matcher := range strings.SplitSeq(m[2], ",") {
		if strings.TrimSpace(matcher) == "" {
			continue
		}
		eq := regexp.MustCompile(`^\s*(\w+)="([^"]*)"\s*$`).FindStringSubmatch(matcher)
		if eq == nil {
			t.Fatalf("%s: matcher %q is not label=\"value\"", what, matcher)
		}
		d.selector[eq[1]] = eq[2]
	}
	return d
}

// scaledObjectQuery returns the query of the KEDA ScaledObject's
// Prometheus trigger.
func scaledObjectQuery(t *testing.T) string {
	t.Helper()
	var so struct {
		Spec struct {
			Triggers []struct {
				Type     string            `yaml:"type"`
				Metadata map[string]string `yaml:"metadata"`
			} `yaml:"triggers"`
		} `yaml:"spec"`
	}
	readYAML(t, scaledObjectFile, &so)
	if len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != "prometheus" {
		t.Fatalf("%s: want one prometheus trigger", scaledObjectFile)
	}
	return so.Spec.Triggers[0].Metadata["query"]
}

func readYAML(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// readmeDemand returns the demand-per-worker expression deploy/README.md
// gives: the indented lines after the paragraph that names it.
func readmeDemand(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(deployReadme)
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "It should scale on **demand per worker**:\n\n")
	if !ok {
		t.Fatalf("%s no longer names demand per worker", deployReadme)
	}
	var lines []string
	for line := range strings.Lines(after) {
		if !strings.HasPrefix(line, "    ") {
			break
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "")
}

// scrapeJob returns the job the example Prometheus configuration scrapes
// the demo as: the job label Prometheus gives its series.
func scrapeJob(t *testing.T) string {
	t.Helper()
	var cfg struct {
		ScrapeConfigs []struct {
			JobName string `yaml:"job_name"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, prometheusFile, &cfg)
	if len(cfg.ScrapeConfigs) != 1 {
		t.Fatalf("%s: want one scrape configuration", prometheusFile)
	}
	return cfg.ScrapeConfigs[0].JobName
}

// sample is one scrape's value of a series, by its labels.
type sample map[string]float64

// vector is an instant vector: values by their label sets (the metric
// name left out, as PromQL's binary operators match them).
type vector map[string]float64

// scrapeGauges scrapes c and returns each gauge family's series, with the
// scrape's job label added as Prometheus adds it.
func scrapeGauges(t *testing.T, c *Collector, job string) map[string]sample {
	t.Helper()
	out := map[string]sample{}
	for name, mf := range gather(t, c) {
		if mf.GetType() != dto.MetricType_GAUGE {
			continue
		}
		s := sample{}
		for _, m := range mf.GetMetric() {
			labels := []string{`job="` + job + `"`}
			for _, lp := range m.GetLabel() {
				labels = append(labels, lp.GetName()+`="`+lp.GetValue()+`"`)
			}
			s[strings.Join(labels, ",")] = m.GetGauge().GetValue()
		}
		out[name] = s
	}
	return out
}

// avgOverTime is avg_over_time(name{selector}[window]) over scrapes, the
// samples in the window: each series' mean over the scrapes that have it.
func avgOverTime(scrapes []map[string]sample, name string, selector map[string]string) vector {
	sums, counts := vector{}, map[string]int{}
	for _, s := range scrapes {
		for labels, v := range s[name] {
			if !matches(labels, selector) {
				continue
			}
			sums[labels] += v
			counts[labels]++
		}
	}
	for labels := range sums {
		sums[labels] /= float64(counts[labels])
	}
	return sums
}

func matches(labels string, selector map[string]string) bool {
	for k, v := range selector {
		if !strings.Contains(","+labels+",", ","+k+`="`+v+`",`) {
			return false
		}
	}
	return true
}

// add is a + b: the label sets in both, their values added.
func add(a, b vector) vector {
	out := vector{}
	for labels, v := range a {
		if w, ok := b[labels]; ok {
			out[labels] = v + w
		}
	}
	return out
}

// or is a or b: a, and the series of b whose label sets a lacks.
func or(a, b vector) vector {
	out := vector{}
	for labels, v := range b {
		out[labels] = v
	}
	for labels, v := range a {
		out[labels] = v
	}
	return out
}

// sum is sum(v): the total, and whether v had a series (sum of nothing is
// no data, not 0).
func sum(v vector) (float64, bool) {
	var total float64
	for _, x := range v {
		total += x
	}
	return total, len(v) > 0
}

// demandValue is the query's value over scrapes, with its numerator and
// denominator: the expression as Prometheus evaluates it.
type demandValue struct{ work, capacity, demand float64 }

func (d demandQuery) eval(t *testing.T, scrapes []map[string]sample) demandValue {
	t.Helper()
	work, ok1 := sum(add(avgOverTime(scrapes, d.busy, d.selector), avgOverTime(scrapes, d.depth, d.selector)))
	capacity, ok2 := sum(or(avgOverTime(scrapes, d.capacity, d.selector), avgOverTime(scrapes, d.workers, d.selector)))
	if !ok1 || !ok2 {
		t.Fatalf("the query has no data: work %v, capacity %v", ok1, ok2)
	}
	return demandValue{work, capacity, work / capacity}
}

// gatedTask is a task that runs until its gate is closed.
type gatedTask struct{ gate chan struct{} }

func (g gatedTask) Run(ctx context.Context) error {
	<-g.gate
	return nil
}

// TestScalerQuery evaluates the KEDA ScaledObject's query — demand per
// worker, the metric deploy/README.md says an autoscaler should scale
// on — in Go, over scrapes of real pools through the collector, as
// Prometheus would over the samples of its window: it rises with the work
// that queues and falls when the pool drains. The query evaluated is the
// one parsed from the ScaledObject, which must have the README's shape and
// gauges; its job matcher is the job of the example Prometheus
// configuration, and its pool a real pool of that name here. A phase's
// scrapes stand for the query's window.
func TestScalerQuery(t *testing.T) {
	q := parseDemand(t, scaledObjectFile, scaledObjectQuery(t))
	general := parseDemand(t, deployReadme, readmeDemand(t))
	if q.busy != general.busy || q.depth != general.depth || q.capacity != general.capacity ||
		q.workers != general.workers || q.window != general.window {
		t.Fatalf("the ScaledObject's query %+v and the README's %+v differ", q, general)
	}
	if q.busy != "poolgen_workers_busy" || q.depth != "poolgen_queue_depth_tasks" ||
		q.capacity != "poolgen_scaling_max_workers" || q.workers != "poolgen_workers" {
		t.Fatalf("the query's gauges %+v are not busy workers, queue depth, maximum and workers", q)
	}
	if job := scrapeJob(t); q.selector["job"] != job {
		t.Fatalf("the query selects job %q; Prometheus scrapes the demo as job %q", q.selector["job"], job)
	}
	name := q.selector["pool"]
	if name == "" || len(q.selector) != 2 {
		t.Fatalf("the query's selector %v: want job and pool", q.selector)
	}

	// The ScaledObject's pool: a fixed pool of 2 workers, whose
	// capacity is its workers (it has no maximum).
	const workers = 2
	gate := make(chan struct{})
	p, err := templates.NewFixedPool[gatedTask](poolrt.Name(name), poolrt.Workers(workers))
	if err != nil {
		t.Fatal(err)
	}
	var once bool
	open := func() {
		if !once {
			once = true
			close(gate)
		}
	}
	t.Cleanup(func() { open(); p.Shutdown(context.Background()) })
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	job := q.selector["job"]
	// phase waits until the pool's Stats agree with want, then scrapes it
	// a few times and evaluates the query over those scrapes.
	phase := func(what string, want func(poolrt.Stats) bool) demandValue {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !want(p.Stats()) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the pool did not get there in 10s: %v", what, p.Stats())
			}
			time.Sleep(time.Millisecond)
		}
		var scrapes []map[string]sample
		for range 3 {
			scrapes = append(scrapes, scrapeGauges(t, c, job))
		}
		return q.eval(t, scrapes)
	}
	submit := func(n int) {
		t.Helper()
		for range n {
			if err := p.Submit(context.Background(), gatedTask{gate}); err != nil {
				t.Fatal(err)
			}
		}
	}

	idle := phase("idle", func(s poolrt.Stats) bool { return s.Workers == workers && s.Busy == 0 })
	submit(workers)
	full := phase("every worker busy", func(s poolrt.Stats) bool { return s.Busy == workers && s.QueueDepth == 0 })
	submit(6)
	queued := phase("6 tasks waiting", func(s poolrt.Stats) bool { return s.Busy == workers && s.QueueDepth == 6 })
	open()
	drained := phase("drained", func(s poolrt.Stats) bool { return s.Completed == workers+6 && s.Busy == 0 && s.QueueDepth == 0 })

	for _, c := range []struct {
		what       string
		got        demandValue
		work, want float64
	}{
		{"idle", idle, 0, 0},
		{"every worker busy", full, workers, 1},
		{"6 tasks waiting", queued, workers + 6, 4},
		{"drained", drained, 0, 0},
	} {
		if c.got.work != c.work || c.got.capacity != workers || math.Abs(c.got.demand-c.want) > 1e-12 {
			t.Errorf("%s: work %g over capacity %g = demand %g; want %g over %d = %g",
				c.what, c.got.work, c.got.capacity, c.got.demand, c.work, workers, c.want)
		}
	}
	if !(idle.demand < full.demand && full.demand < queued.demand && drained.demand < queued.demand) {
		t.Errorf("demand %g idle, %g busy, %g queued, %g drained: want it to rise with the queued work and fall when drained",
			idle.demand, full.demand, queued.demand, drained.demand)
	}
}

// TestScalerQueryDynamic evaluates the query over a dynamic pool: its
// capacity is its maximum, not its current size, so that the demand does
// not fall as the pool grows by itself (the or takes the maximum where
// there is one).
func TestScalerQueryDynamic(t *testing.T) {
	q := parseDemand(t, scaledObjectFile, scaledObjectQuery(t))
	q.selector["pool"] = "scaler-dynamic"
	gate := make(chan struct{})
	p, err := templates.NewDynamicPool[gatedTask](poolrt.Name(q.selector["pool"]), poolrt.WorkerLimits(1, 4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(gate); p.Shutdown(context.Background()) })
	if err := p.Submit(context.Background(), gatedTask{gate}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s := p.Stats(); s.Busy != 1 || s.Workers != 1; s = p.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("the pool did not run its task on its one worker in 10s: %v", s)
		}
		time.Sleep(time.Millisecond)
	}
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	got := q.eval(t, []map[string]sample{scrapeGauges(t, c, q.selector["job"])})
	if got.work != 1 || got.capacity != 4 || got.demand != 0.25 {
		t.Errorf("one task on a pool of 1 to 4 workers: work %g over capacity %g = %g; want 1 over its maximum 4 = 0.25",
			got.work, got.capacity, got.demand)
	}
}
