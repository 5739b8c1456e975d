package conformance_test

import (
	"context"
	"testing"

	"github.com/poolgen/poolgen/generated"
	"github.com/poolgen/poolgen/internal/conformance"
	"github.com/poolgen/poolgen/internal/probe"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// The batch pool runs the whole suite with MaxBatch(1): each batch is one
// task, handed to a handler that runs it, so every per-task expectation
// of the suite (exactly once, panics and errors per task, order) applies.
// Batching itself (size, linger, keys, reuse) is tested in
// templates/batch_test.go.

// batchProbe makes generated.Probe batchable for the generic pool: one
// group for all.
type batchProbe struct{ generated.Probe }

func (batchProbe) BatchKey() struct{} { return struct{}{} }

func runBatch(ctx context.Context, batch []batchProbe) error {
	var err error
	for _, t := range batch {
		if e := t.Run(ctx); e != nil {
			err = e
		}
	}
	return err
}

func TestBatch(t *testing.T) {
	conformance.Run(t, conformance.Impl[batchProbe]{
		Name: "templates.BatchPool",
		New: conformance.Adapt(func(opts ...poolrt.Option) (*templates.BatchPool[batchProbe, struct{}], error) {
			return templates.NewBatchPool[batchProbe, struct{}](runBatch, opts...)
		}),
		Task:    func(ctl *probe.Control, id int) batchProbe { return batchProbe{generated.Probe{ID: id, Ctl: ctl}} },
		ID:      func(p batchProbe) int { return p.ID },
		Pattern: poolrt.Batch,
		Options: []poolrt.Option{poolrt.MaxBatch(1)},
	})
}

// TestBatchGenerated runs the suite over the batch pools poolgen generated
// for Probe and ProbePtr (no batch key: one group; the handlers
// generated.RunProbes and RunProbePtrs, called directly).
func TestBatchGenerated(t *testing.T) {
	conformance.Run(t, conformance.Impl[generated.Probe]{
		Name:    "generated.ProbeBatchPool",
		New:     conformance.Adapt(generated.NewProbeBatchPool),
		Task:    func(ctl *probe.Control, id int) generated.Probe { return generated.Probe{ID: id, Ctl: ctl} },
		ID:      func(p generated.Probe) int { return p.ID },
		Pattern: poolrt.Batch,
		Options: []poolrt.Option{poolrt.MaxBatch(1)},
	})
	conformance.Run(t, conformance.Impl[*generated.ProbePtr]{
		Name:    "generated.ProbePtrBatchPool",
		New:     conformance.Adapt(generated.NewProbePtrBatchPool),
		Task:    func(ctl *probe.Control, id int) *generated.ProbePtr { return &generated.ProbePtr{ID: id, Ctl: ctl} },
		ID:      func(p *generated.ProbePtr) int { return p.ID },
		Pattern: poolrt.Batch,
		Options: []poolrt.Option{poolrt.MaxBatch(1)},
	})
}
