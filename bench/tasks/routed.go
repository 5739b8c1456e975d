package tasks

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/poolgen/poolgen/runtime/poolimpl"
)

//go:generate go run github.com/poolgen/poolgen/cmd/poolgen -type=Routed -output=routed_pool.go

// Routed is the task of the router workloads: a task of class Kind,
// submitted at At (nanoseconds since its Mix's epoch) in phase Phase of
// the workload, that sleeps for D (an I/O-like task) or, with D zero,
// spins for N rounds (a tiny CPU task). It records its queue wait, from
// At to the start of Run, in its Mix by class and phase.
//
//poolgen:pools fixed,dynamic,router
type Routed struct {
	M     *Mix
	Kind  uint8 `poolgen:"class"`
	Phase uint8
	At    int64
	D     time.Duration
	N     int
}

// Run records the wait, does the work and counts the task.
func (t Routed) Run(ctx context.Context) error {
	m := t.M
	m.Wait[t.Kind][t.Phase].Record(time.Duration(m.Now() - t.At))
	if t.D > 0 {
		time.Sleep(t.D)
	} else if spin(t.N) == 0 {
		m.Done[t.Kind][0].Add(1 << 32) // never: keeps the loop's result live
	}
	m.Done[t.Kind][m.Current.Load()].Add(1)
	m.Counter.n.Add(1)
	return nil
}

// MixClasses and MixPhases bound a Mix: the classes and phases it records.
const (
	MixClasses = 2
	MixPhases  = 2
)

// Mix records a router workload: the queue waits by class and phase of
// submission, and the completions by class and the phase they happened
// in (Current, which the workload's driver advances).
type Mix struct {
	Counter
	epoch   time.Time
	Current atomic.Uint32
	Wait    [MixClasses][MixPhases]poolimpl.Histogram
	Done    [MixClasses][MixPhases]atomic.Int64
}

// NewMix returns a Mix whose clock starts now.
func NewMix() *Mix { return &Mix{epoch: time.Now()} }

// Now returns the nanoseconds since the Mix was made.
func (m *Mix) Now() int64 { return int64(time.Since(m.epoch)) }
