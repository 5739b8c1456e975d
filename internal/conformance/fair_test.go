package conformance_test

import (
	"math"
	"testing"

	"github.com/poolgen/poolgen/generated"
	"github.com/poolgen/poolgen/internal/conformance"
	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// The fair pools run the whole suite. The suite's tasks are all of one
// tenant (Team 0), whose queue is the pool's (a TenantQueueSize beyond
// QueueSize turns the tenant limit off), so the FIFO and queue-bound
// expectations hold; sharing between tenants is tested in package
// templates (fair_test.go).
var fairOptions = []poolrt.Option{poolrt.TenantQueueSize(math.MaxInt32)}

// fairProbeImpls returns the fair pools over the value task type, their
// Task and ID filled in.
func fairProbeImpls() []conformance.Impl[generated.Probe] {
	impls := []conformance.Impl[generated.Probe]{
		{Name: "templates.FairPool", New: conformance.Adapt(templates.NewFairPool[generated.Probe, int])},
		{Name: "generated.ProbeFairPool", New: conformance.Adapt(generated.NewProbeFairPool)},
	}
	for i := range impls {
		impls[i].Pattern, impls[i].Options = conformance.Fair, fairOptions
		impls[i].Task = func(ctl *probe.Control, id int) generated.Probe { return generated.Probe{ID: id, Ctl: ctl} }
		impls[i].ID = func(p generated.Probe) int { return p.ID }
	}
	return impls
}

// fairProbePtrImpls returns the fair pools over the pointer task type,
// their Task and ID filled in.
func fairProbePtrImpls() []conformance.Impl[*generated.ProbePtr] {
	impls := []conformance.Impl[*generated.ProbePtr]{
		{Name: "templates.FairPool", New: conformance.Adapt(templates.NewFairPool[*generated.ProbePtr, int])},
		{Name: "generated.ProbePtrFairPool", New: conformance.Adapt(generated.NewProbePtrFairPool)},
	}
	for i := range impls {
		impls[i].Pattern, impls[i].Options = conformance.Fair, fairOptions
		impls[i].Task = func(ctl *probe.Control, id int) *generated.ProbePtr { return &generated.ProbePtr{ID: id, Ctl: ctl} }
		impls[i].ID = func(p *generated.ProbePtr) int { return p.ID }
	}
	return impls
}

func TestFairProbe(t *testing.T) {
	for _, impl := range fairProbeImpls() {
		conformance.Run(t, impl)
	}
}

func TestFairProbePtr(t *testing.T) {
	for _, impl := range fairProbePtrImpls() {
		conformance.Run(t, impl)
	}
}
