package conformance_test

import (
	"testing"

	"github.com/poolgen/poolgen/generated"
	"github.com/poolgen/poolgen/internal/conformance"
	"github.com/poolgen/poolgen/internal/probe"
	"github.com/poolgen/poolgen/templates"
)

// Dynamic pools over the value task type. Task and ID are filled in by
// the tests.
var dynamicProbeImpls = []conformance.DynamicImpl[generated.Probe]{
	{Name: "templates.DynamicPool", New: conformance.AdaptDynamic(templates.NewDynamicPool[generated.Probe])},

	{Name: "generated.ProbeDynamicPool", New: conformance.AdaptDynamic(generated.NewProbeDynamicPool)},
}

// Dynamic pools over the pointer task type.
var dynamicProbePtrImpls = []conformance.DynamicImpl[*generated.ProbePtr]{
	{Name: "templates.DynamicPool", New: conformance.AdaptDynamic(templates.NewDynamicPool[*generated.ProbePtr])},

	{Name: "generated.ProbePtrDynamicPool", New: conformance.AdaptDynamic(generated.NewProbePtrDynamicPool)},
}

func dynamicProbe() []conformance.DynamicImpl[generated.Probe] {
	impls := dynamicProbeImpls
	for i := range impls {
		impls[i].Task = func(ctl *probe.Control, id int) generated.Probe { return generated.Probe{ID: id, Ctl: ctl} }
		impls[i].ID = func(p generated.Probe) int { return p.ID }
	}
	return impls
}

func dynamicProbePtr() []conformance.DynamicImpl[*generated.ProbePtr] {
	impls := dynamicProbePtrImpls
	for i := range impls {
		impls[i].Task = func(ctl *probe.Control, id int) *generated.ProbePtr { return &generated.ProbePtr{ID: id, Ctl: ctl} }
		impls[i].ID = func(p *generated.ProbePtr) int { return p.ID }
	}
	return impls
}

// TestDynamicProbe runs the contract every pool keeps over the dynamic
// pools, their size pinned.
func TestDynamicProbe(t *testing.T) {
	for _, impl := range dynamicProbe() {
		conformance.Run(t, impl.Impl())
	}
}

func TestDynamicProbePtr(t *testing.T) {
	for _, impl := range dynamicProbePtr() {
		conformance.Run(t, impl.Impl())
	}
}

// TestDynamicScalingProbe runs the scaling suite over the dynamic pools.
func TestDynamicScalingProbe(t *testing.T) {
	for _, impl := range dynamicProbe() {
		conformance.RunDynamic(t, impl)
	}
}

func TestDynamicScalingProbePtr(t *testing.T) {
	for _, impl := range dynamicProbePtr() {
		conformance.RunDynamic(t, impl)
	}
}
