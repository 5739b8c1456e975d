package poolrt_test

import (
	"context"
	"fmt"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// Sum is a task that keeps its worker busy: a CPU-bound loop.
type Sum struct{ N int }

func (s Sum) Run(context.Context) error {
	x := 0
	for i := range s.N {
		x += i
	}
	_ = x
	return nil
}

// PinWorkers binds each worker to a CPU (on Linux; elsewhere the
// constructor refuses it with a *ConfigError); Stats.Affinity reports
// the CPU time the pinned workers used.
func ExamplePinWorkers() {
	p, err := templates.NewFixedPool[Sum](poolrt.Workers(2), poolrt.PinWorkers())
	if err != nil {
		panic(err)
	}
	for range 100 {
		_ = p.Submit(context.Background(), Sum{N: 100_000})
	}
	_ = p.Shutdown(context.Background())
	a := p.Stats().Affinity
	fmt.Println("pinned now:", a.Pinned, "CPU time used:", a.CPUTime > 0)
	// Output: pinned now: 0 CPU time used: true
}
