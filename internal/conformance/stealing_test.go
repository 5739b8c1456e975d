package conformance_test

import (
	"testing"

	"github.com/poolgen/poolgen/generated"
	"github.com/poolgen/poolgen/internal/conformance"
	"github.com/poolgen/poolgen/internal/probe"
	"github.com/poolgen/poolgen/templates"
)

// Rows for the work-stealing pool: the generic pool over the value and
// the pointer probe task. Tasks submitted from outside the pool go
// through the injector, which workers drain oldest first, so the pool
// keeps submission order with one worker and Reorders stays false.
var stealingProbeImpls = []conformance.Impl[generated.Probe]{
	{Name: "templates.StealingPool", New: conformance.Adapt(templates.NewStealingPool[generated.Probe]), Pattern: conformance.Stealing},
	{Name: "generated.ProbeStealingPool", New: conformance.Adapt(generated.NewProbeStealingPool), Pattern: conformance.Stealing},
}

var stealingProbePtrImpls = []conformance.Impl[*generated.ProbePtr]{
	{Name: "templates.StealingPool", New: conformance.Adapt(templates.NewStealingPool[*generated.ProbePtr]), Pattern: conformance.Stealing},
	{Name: "generated.ProbePtrStealingPool", New: conformance.Adapt(generated.NewProbePtrStealingPool), Pattern: conformance.Stealing},
}

// stealingProbe returns the rows over the value task type, their Task and
// ID filled in.
func stealingProbe() []conformance.Impl[generated.Probe] {
	impls := stealingProbeImpls
	for i := range impls {
		impls[i].Task = func(ctl *probe.Control, id int) generated.Probe { return generated.Probe{ID: id, Ctl: ctl} }
		impls[i].ID = func(p generated.Probe) int { return p.ID }
	}
	return impls
}

// stealingProbePtr returns the rows over the pointer task type, their Task
// and ID filled in.
func stealingProbePtr() []conformance.Impl[*generated.ProbePtr] {
	impls := stealingProbePtrImpls
	for i := range impls {
		impls[i].Task = func(ctl *probe.Control, id int) *generated.ProbePtr { return &generated.ProbePtr{ID: id, Ctl: ctl} }
		impls[i].ID = func(p *generated.ProbePtr) int { return p.ID }
	}
	return impls
}

func TestStealingProbe(t *testing.T) {
	for _, impl := range stealingProbe() {
		conformance.Run(t, impl)
	}
}

func TestStealingProbePtr(t *testing.T) {
	for _, impl := range stealingProbePtr() {
		conformance.Run(t, impl)
	}
}

// TestStealingForkProbe runs the work-stealing suite (Fork) over the
// stealing pools of the value task type.
func TestStealingForkProbe(t *testing.T) {
	for _, impl := range stealingProbe() {
		conformance.RunStealing(t, impl)
	}
}

// TestStealingForkProbePtr runs the work-stealing suite over the stealing
// pools of the pointer task type.
func TestStealingForkProbePtr(t *testing.T) {
	for _, impl := range stealingProbePtr() {
		conformance.RunStealing(t, impl)
	}
}
