package conformance_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/poolgen/poolgen/generated"
	"github.com/poolgen/poolgen/internal/conformance"
	"github.com/poolgen/poolgen/internal/probe"
	"github.com/poolgen/poolgen/templates"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Rows for the value task type: the pool holds generated.Probe by value.
// Task and ID are filled in by TestProbe.
var probeImpls = []conformance.Impl[generated.Probe]{
	{Name: "templates.FixedPool", New: conformance.Adapt(templates.NewFixedPool[generated.Probe])},

	// --- generated pools: one row per pool poolgen generates for Probe ---
	{Name: "generated.ProbeFixedPool", New: conformance.Adapt(generated.NewProbeFixedPool)},
}

// Rows for the pointer task type: the pool holds *generated.ProbePtr.
var probePtrImpls = []conformance.Impl[*generated.ProbePtr]{
	{Name: "templates.FixedPool", New: conformance.Adapt(templates.NewFixedPool[*generated.ProbePtr])},

	// --- generated pools: one row per pool poolgen generates for ProbePtr ---
	{Name: "generated.ProbePtrFixedPool", New: conformance.Adapt(generated.NewProbePtrFixedPool)},
}

func TestProbe(t *testing.T) {
	for _, impl := range probeImpls {
		impl.Task = func(ctl *probe.Control, id int) generated.Probe { return generated.Probe{ID: id, Ctl: ctl} }
		impl.ID = func(p generated.Probe) int { return p.ID }
		conformance.Run(t, impl)
	}
}

func TestProbePtr(t *testing.T) {
	for _, impl := range probePtrImpls {
		impl.Task = func(ctl *probe.Control, id int) *generated.ProbePtr { return &generated.ProbePtr{ID: id, Ctl: ctl} }
		impl.ID = func(p *generated.ProbePtr) int { return p.ID }
		conformance.Run(t, impl)
	}
}
