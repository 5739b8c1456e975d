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

// The batch pools run the general suite with MaxBatch(1) (see
// conformance.BatchImpl.Impl), and the batch suite (conformance.RunBatch)
// for batching itself: linger, and ShutdownNow with open batches. Size,
// keys and reuse are tested in templates/batch_test.go.

// batchProbe makes generated.Probe batchable for the generic pool: one
// group for all.
type batchProbe struct{ generated.Probe }

func (batchProbe) BatchKey() struct{} { return struct{}{} }

// keyedProbe is a generated.Probe batched by Key.
type keyedProbe struct {
	generated.Probe
	Key int
}

func (p keyedProbe) BatchKey() int { return p.Key }

// runProbes is the generic pools' handler: it runs each task of the
// batch, as generated.RunProbes does.
func runProbes[T interface{ Run(context.Context) error }](ctx context.Context, batch []T) error {
	var err error
	for _, t := range batch {
		if e := t.Run(ctx); e != nil {
			err = e
		}
	}
	return err
}

var batchImpl = conformance.BatchImpl[batchProbe]{
	Name: "templates.BatchPool",
	New: conformance.Adapt(func(opts ...poolrt.Option) (*templates.BatchPool[batchProbe, struct{}], error) {
		return templates.NewBatchPool[batchProbe, struct{}](runProbes[batchProbe], opts...)
	}),
	Task: func(ctl *probe.Control, id int) batchProbe { return batchProbe{generated.Probe{ID: id, Ctl: ctl}} },
	ID:   func(p batchProbe) int { return p.ID },
}

var keyedBatchImpl = conformance.BatchImpl[keyedProbe]{
	Name: "templates.BatchPool-keyed",
	New: conformance.Adapt(func(opts ...poolrt.Option) (*templates.BatchPool[keyedProbe, int], error) {
		return templates.NewBatchPool[keyedProbe, int](runProbes[keyedProbe], opts...)
	}),
	Task: func(ctl *probe.Control, id int) keyedProbe {
		return keyedProbe{Probe: generated.Probe{ID: id, Ctl: ctl}}
	},
	ID: func(p keyedProbe) int { return p.ID },
	KeyTask: func(ctl *probe.Control, id, key int) keyedProbe {
		return keyedProbe{generated.Probe{ID: id, Ctl: ctl}, key}
	},
}

// keyedFuncImpl is the Func batch pool over a type with no BatchKey
// method: the key comes from a function, as for a tagged field.
var keyedFuncImpl = conformance.BatchImpl[generated.Probe]{
	Name: "templates.BatchFuncPool-keyed",
	New: conformance.Adapt(func(opts ...poolrt.Option) (*templates.BatchFuncPool[generated.Probe, int], error) {
		return templates.NewBatchFuncPool(func(p generated.Probe) int { return p.Size }, runProbes[generated.Probe], opts...)
	}),
	Task: func(ctl *probe.Control, id int) generated.Probe { return generated.Probe{ID: id, Ctl: ctl} },
	ID:   func(p generated.Probe) int { return p.ID },
	KeyTask: func(ctl *probe.Control, id, key int) generated.Probe {
		return generated.Probe{ID: id, Ctl: ctl, Size: key}
	},
}

// The batch pools poolgen generated for Probe and ProbePtr (no batch key:
// one group; the handlers generated.RunProbes and RunProbePtrs, called
// directly).
var (
	probeBatchImpl = conformance.BatchImpl[generated.Probe]{
		Name: "generated.ProbeBatchPool",
		New:  conformance.Adapt(generated.NewProbeBatchPool),
		Task: func(ctl *probe.Control, id int) generated.Probe { return generated.Probe{ID: id, Ctl: ctl} },
		ID:   func(p generated.Probe) int { return p.ID },
	}
	probePtrBatchImpl = conformance.BatchImpl[*generated.ProbePtr]{
		Name: "generated.ProbePtrBatchPool",
		New:  conformance.Adapt(generated.NewProbePtrBatchPool),
		Task: func(ctl *probe.Control, id int) *generated.ProbePtr { return &generated.ProbePtr{ID: id, Ctl: ctl} },
		ID:   func(p *generated.ProbePtr) int { return p.ID },
	}
)

func TestBatch(t *testing.T) {
	conformance.Run(t, batchImpl.Impl())
	conformance.Run(t, keyedFuncImpl.Impl())
}

// TestBatchGenerated runs the general suite over the generated batch
// pools.
func TestBatchGenerated(t *testing.T) {
	conformance.Run(t, probeBatchImpl.Impl())
	conformance.Run(t, probePtrBatchImpl.Impl())
}

// TestBatchPattern runs the batch suite over the generic batch pool, with
// one group and grouped by key.
func TestBatchPattern(t *testing.T) {
	conformance.RunBatch(t, batchImpl)
	conformance.RunBatch(t, keyedBatchImpl)
	conformance.RunBatch(t, keyedFuncImpl)
}

// TestBatchPatternGenerated runs the batch suite over the generated batch
// pools.
func TestBatchPatternGenerated(t *testing.T) {
	conformance.RunBatch(t, probeBatchImpl)
	conformance.RunBatch(t, probePtrBatchImpl)
}
