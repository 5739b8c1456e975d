package poolprom_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	poolprom "github.com/poolgen/poolgen/contrib/prometheus"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolmon"
	"github.com/poolgen/poolgen/templates"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// resize is a task: Run does the work.
type resize struct{ width int }

func (r resize) Run(ctx context.Context) error { return nil }

// A program registers the collector and serves it; the pools it exports
// are those with a name.
func Example() {
	pool, err := templates.NewFixedPool[resize](poolrt.Name("resize"), poolrt.Workers(2))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Shutdown(context.Background())
	for range 100 {
		if err := pool.Submit(context.Background(), resize{width: 64}); err != nil {
			log.Fatal(err)
		}
	}
	for pool.Stats().Completed < 100 { // for a stable output only
		time.Sleep(time.Millisecond)
	}

	exporter, err := poolprom.New()
	if err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(exporter)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "poolgen_tasks_completed_total") || strings.HasPrefix(line, "poolgen_workers{") {
			fmt.Print(line)
		}
	}
	// Output:
	// poolgen_tasks_completed_total{pattern="fixed",pool="resize",task="poolprom_test.resize"} 100
	// poolgen_workers{pattern="fixed",pool="resize",task="poolprom_test.resize"} 2
}

// A Source replaces poolmon.Pools: here a fixed snapshot, as a test
// would use; it could also pick the pools of one subsystem.
func ExampleSource() {
	snapshot := []poolmon.Pool{{
		Name: "resize", Pattern: "fixed", Task: "images.Resize",
		Stats: poolrt.Stats{Workers: 4, Busy: 3, QueueDepth: 20, Submitted: 1200, Completed: 1180},
	}}
	exporter, err := poolprom.New(poolprom.Source(func() []poolmon.Pool { return snapshot }))
	if err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(exporter)
	families, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range families {
		switch f.GetName() {
		case "poolgen_tasks_completed_total", "poolgen_queue_depth_tasks", "poolgen_workers_busy":
			m := f.GetMetric()[0]
			value := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			fmt.Printf("%s{pool=%q} %g\n", f.GetName(), m.GetLabel()[1].GetValue(), value)
		}
	}
	// Output:
	// poolgen_queue_depth_tasks{pool="resize"} 20
	// poolgen_tasks_completed_total{pool="resize"} 1180
	// poolgen_workers_busy{pool="resize"} 3
}
