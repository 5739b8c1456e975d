package poolprom_test

import (
	"fmt"
	"log"

	poolprom "github.com/poolgen/poolgen/contrib/prometheus"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolmon"
	"github.com/prometheus/client_golang/prometheus"
)

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
