package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	poolprom "github.com/poolgen/poolgen/contrib/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"
)

// The files of deploy/, which watch the metrics of the exporter this demo
// serves.
var (
	alertsFile    = filepath.Join("..", "..", "deploy", "prometheus", "alerts.yml")
	dashboardFile = filepath.Join("..", "..", "deploy", "grafana", "poolgen.json")
	scalerFile    = filepath.Join("..", "..", "deploy", "kubernetes", "keda-scaledobject.yaml")
)

// alertRule is one alerting rule of alerts.yml.
type alertRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Annotations map[string]string `yaml:"annotations"`
}

// alertRules returns the alerting rules of alerts.yml.
func alertRules(t *testing.T) []alertRule {
	t.Helper()
	var f struct {
		Groups []struct {
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, alertsFile, &f)
	var rules []alertRule
	for _, g := range f.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatalf("%s has no rules", alertsFile)
	}
	return rules
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

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	Title         string `json:"title"`
	UID           string `json:"uid"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
			AllValue   string `json:"allValue"`
			Multi      bool   `json:"multi"`
			IncludeAll bool   `json:"includeAll"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource *struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		GridPos struct{ H, W, X, Y int } `json:"gridPos"`
		Targets []struct {
			Expr  string `json:"expr"`
			RefID string `json:"refId"`
		} `json:"targets"`
	} `json:"panels"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// dashboardQueries returns the dashboard's queries by panel title, with
// its variables in place.
func dashboardQueries(d dashboard) map[string][]string {
	q := map[string][]string{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			q[p.Title] = append(q[p.Title], tg.Expr)
		}
	}
	return q
}

// scalerQuery returns the Prometheus query of the KEDA ScaledObject.
func scalerQuery(t *testing.T) string {
	t.Helper()
	var so struct {
		Spec struct {
			Triggers []struct {
				Type     string            `yaml:"type"`
				Metadata map[string]string `yaml:"metadata"`
			} `yaml:"triggers"`
		} `yaml:"spec"`
	}
	readYAML(t, scalerFile, &so)
	if len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != "prometheus" {
		t.Fatalf("%s: want one prometheus trigger", scalerFile)
	}
	return so.Spec.Triggers[0].Metadata["query"]
}

var metricNameRE = regexp.MustCompile(`\bpoolgen_[a-z0-9_]+`)

// referencedMetrics returns the poolgen metrics the dashboard, the alerts
// and the scaler query, sorted.
func referencedMetrics(t *testing.T) []string {
	t.Helper()
	var exprs []string
	for _, r := range alertRules(t) {
		exprs = append(exprs, r.Expr)
	}
	for _, qs := range dashboardQueries(readDashboard(t)) {
		exprs = append(exprs, qs...)
	}
	exprs = append(exprs, scalerQuery(t))
	var names []string
	for _, e := range exprs {
		names = append(names, metricNameRE.FindAllString(e, -1)...)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// exportedFamilies returns the names of the families the exporter may
// export.
func exportedFamilies(t *testing.T) map[string]bool {
	t.Helper()
	c, err := poolprom.New()
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	fqName := regexp.MustCompile(`fqName: "(\w+)"`)
	names := map[string]bool{}
	for d := range ch {
		m := fqName.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("no name in %s", d)
		}
		names[m[1]] = true
	}
	return names
}

// TestDeployMetricNames checks that every metric the dashboard, the alerts
// and the scaler use is one the exporter exports (a histogram's series by
// their _bucket, _sum and _count names).
func TestDeployMetricNames(t *testing.T) {
	families := exportedFamilies(t)
	refs := referencedMetrics(t)
	if len(refs) < 20 {
		t.Errorf("only %d metrics referenced: %q", len(refs), refs)
	}
	for _, name := range refs {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		if !families[name] && !families[base] {
			t.Errorf("deploy/ uses %s, which the exporter does not export", name)
		}
	}
}

// TestDashboard checks the dashboard's structure: the pool variable, and
// panels that Grafana can place and that filter by it.
func TestDashboard(t *testing.T) {
	d := readDashboard(t)
	if d.Title == "" || d.UID == "" || d.SchemaVersion < 36 {
		t.Errorf("title %q, uid %q, schemaVersion %d", d.Title, d.UID, d.SchemaVersion)
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		if v.Name == "pool" && (v.Type != "query" || !v.Multi || !v.IncludeAll || v.AllValue == "" ||
			!strings.Contains(v.Definition, "label_values(poolgen_")) {
			t.Errorf("the pool variable: %+v", v)
		}
	}
	if !vars["pool"] || !vars["datasource"] {
		t.Errorf("variables %v, want pool and datasource", vars)
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d taken", p.Title, p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 || g.Y < 0 {
			t.Errorf("panel %q: gridPos %+v", p.Title, g)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: no data source variable or no query", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %q: refId %q empty or taken", p.Title, tg.RefID)
			}
			refs[tg.RefID] = true
			for _, sel := range regexp.MustCompile(`poolgen_\w+(\{[^}]*\})?`).FindAllStringSubmatch(tg.Expr, -1) {
				if !strings.Contains(sel[1], `pool=~"$pool"`) {
					t.Errorf("panel %q: %s is not filtered by the pool variable", p.Title, sel[0])
				}
			}
		}
	}
	// A panel for each thing an operator looks at.
	q := strings.Join(slices.Concat(slices.Collect(maps.Values(dashboardQueries(d)))...), "\n")
	for _, m := range []string{
		"poolgen_tasks_completed_total", "poolgen_queue_depth_tasks", "poolgen_workers{",
		"poolgen_utilization_ratio", "poolgen_task_wait_seconds_bucket", "poolgen_task_run_seconds_bucket",
		"poolgen_scaling_size_workers", "poolgen_stealing_steals_total",
		"poolgen_priority_band_wait_seconds_bucket", "poolgen_batch_flushes_total",
		"poolgen_priority_late_tasks_total", "poolgen_priority_lateness_seconds_bucket",
		"poolgen_stealing_worker_steals_total", "poolgen_tasks_shed_total", "poolgen_shedding{",
		"poolgen_breakers{", "poolgen_breaker_state{", "poolgen_tasks_dead_lettered_total",
		"poolgen_hook_panics_total", "poolgen_tasks_timed_out_total",
		"poolgen_scheduled_pending_tasks", "poolgen_scheduled_tasks_fired_total",
		"poolgen_scheduled_tasks_canceled_total",
	} {
		if !strings.Contains(q, m) {
			t.Errorf("no panel shows %s", strings.TrimSuffix(m, "{"))
		}
	}
}

// comparisonRE matches a comparison with a constant, as the alerts end
// their values with (alerts.yml keeps to that shape).
var comparisonRE = regexp.MustCompile(`\s*(?:>=|<=|==|!=|>|<)\s*(?:bool\s+)?-?[0-9][0-9.e+-]*\s*(\n|$)`)

// withoutComparisons returns an alert's expression without its comparisons
// with constants: the values it compares.
func withoutComparisons(expr string) string {
	return strings.TrimSpace(comparisonRE.ReplaceAllString(expr, "$1"))
}

func TestWithoutComparisons(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"rate(x[5m])\n  > 0.05\n", "rate(x[5m])"},
		{"a\n  > 0.9\nand b\n  > 0\nunless c < d\n", "a\nand b\nunless c < d"},
		{"a - b\n  >= 0\nand increase(c[5m]) + increase(d[5m])\n  == 0\n", "a - b\nand increase(c[5m]) + increase(d[5m])"},
		{"histogram_quantile(0.99, sum by (le) (rate(h[5m])))\n  > 0.5", "histogram_quantile(0.99, sum by (le) (rate(h[5m])))"},
	} {
		if got := withoutComparisons(c.in); got != c.want {
			t.Errorf("withoutComparisons(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// Every alert compares with a constant.
	for _, r := range alertRules(t) {
		if withoutComparisons(r.Expr) == strings.TrimSpace(r.Expr) {
			t.Errorf("alert %s compares with no constant: %q", r.Alert, r.Expr)
		}
	}
}

// TestAlertDurations checks that an alert's description says for how long
// its condition has held as its rule's for clause does: "for 5 minutes"
// with for: 5m.
func TestAlertDurations(t *testing.T) {
	said := regexp.MustCompile(`\bfor (\d+) minutes?\b`)
	for _, r := range alertRules(t) {
		desc := strings.Join(strings.Fields(r.Annotations["description"]), " ")
		got := said.FindAllStringSubmatch(desc, -1)
		if r.For == "" {
			if len(got) > 0 {
				t.Errorf("alert %s has no for clause, yet its description says %q", r.Alert, got[0][0])
			}
			continue
		}
		d, err := time.ParseDuration(r.For)
		if err != nil {
			t.Fatalf("alert %s: for %q: %v", r.Alert, r.For, err)
		}
		if len(got) == 0 {
			t.Errorf("alert %s (for: %s): its description does not say for how long: %q", r.Alert, r.For, desc)
		}
		for _, m := range got {
			if n, _ := strconv.Atoi(m[1]); time.Duration(n)*time.Minute != d {
				t.Errorf("alert %s: its description says %q, its rule for: %s", r.Alert, m[0], r.For)
			}
		}
	}
}

// rateInterval stands for Grafana's $__rate_interval: long enough for the
// samples of a Prometheus that has scraped the demo every second for a few
// seconds.
const rateInterval = "1m"

// TestPrometheus checks deploy/ against a Prometheus that scrapes the
// demo in -http mode and has loaded alerts.yml: every metric referenced
// has series, every alert's values and every dashboard and scaler query
// return data, and every rule evaluates without error. .ci/prometheus
// starts both and runs it with POOLGEN_PROMETHEUS_URL set; without it the
// test skips.
func TestPrometheus(t *testing.T) {
	base := os.Getenv("POOLGEN_PROMETHEUS_URL")
	if base == "" {
		t.Skip("POOLGEN_PROMETHEUS_URL is not set: .ci/prometheus runs this test")
	}
	client := &http.Client{Timeout: 10 * time.Second}
	api := func(path string, params url.Values, result any) {
		t.Helper()
		resp, err := client.Get(base + path + "?" + params.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r struct {
			Status string          `json:"status"`
			Error  string          `json:"error"`
			Data   json.RawMessage `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if r.Status != "success" {
			t.Fatalf("%s %v: %s", path, params, r.Error)
		}
		if err := json.Unmarshal(r.Data, result); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	type sample struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"`
	}
	// query returns the query's series and how many have a number, not NaN.
	query := func(q string) (series []sample, numbers int) {
		t.Helper()
		var data struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		}
		api("/api/v1/query", url.Values{"query": {q}}, &data)
		switch data.ResultType {
		case "vector":
			if err := json.Unmarshal(data.Result, &series); err != nil {
				t.Fatal(err)
			}
		case "scalar":
			var s [2]any
			if err := json.Unmarshal(data.Result, &s); err != nil {
				t.Fatal(err)
			}
			series = []sample{{Value: s}}
		default:
			t.Fatalf("%s: result type %s", q, data.ResultType)
		}
		for _, s := range series {
			if v, err := strconv.ParseFloat(fmt.Sprint(s.Value[1]), 64); err == nil && !math.IsNaN(v) {
				numbers++
			}
		}
		return series, numbers
	}

	t.Run("metrics", func(t *testing.T) {
		for _, name := range referencedMetrics(t) {
			if s, _ := query(name); len(s) == 0 {
				t.Errorf("no series of %s", name)
			}
		}
	})
	t.Run("alerts", func(t *testing.T) {
		for _, r := range alertRules(t) {
			q := withoutComparisons(r.Expr)
			if _, n := query(q); n == 0 {
				t.Errorf("alert %s: its values return no data:\n%s", r.Alert, q)
			}
		}
	})
	t.Run("dashboard", func(t *testing.T) {
		d := readDashboard(t)
		var all string
		for _, v := range d.Templating.List {
			if v.Name == "pool" {
				all = v.AllValue
				var pools []string
				label := regexp.MustCompile(`label_values\((\w+), *(\w+)\)`).FindStringSubmatch(v.Definition)
				if label == nil {
					t.Fatalf("pool variable: %q", v.Definition)
				}
				api("/api/v1/label/"+label[2]+"/values", url.Values{"match[]": {label[1]}}, &pools)
				if !slices.Equal(pools, livePools) {
					t.Errorf("the pool variable lists %q, want %q", pools, livePools)
				}
			}
		}
		for title, qs := range dashboardQueries(d) {
			for _, q := range qs {
				q = strings.NewReplacer("$pool", all, "$__rate_interval", rateInterval).Replace(q)
				if _, n := query(q); n == 0 {
					t.Errorf("panel %q: no data for %s", title, q)
				}
			}
		}
	})
	t.Run("scaler", func(t *testing.T) {
		if s, n := query(scalerQuery(t)); n != 1 {
			t.Errorf("the scaler's query returns %d numbers, want 1: %v", n, s)
		}
	})
	t.Run("rules", func(t *testing.T) {
		var data struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		}
		api("/api/v1/rules", url.Values{}, &data)
		n := 0
		for _, g := range data.Groups {
			for _, r := range g.Rules {
				n++
				if r.Health != "ok" {
					t.Errorf("rule %s: health %q %s", r.Name, r.Health, r.LastError)
				}
			}
		}
		if want := len(alertRules(t)); n != want {
			t.Errorf("Prometheus has %d rules, alerts.yml %d", n, want)
		}
	})
}
