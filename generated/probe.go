package generated

import (
	"context"
	"sync"
	"time"

	"github.com/poolgen/poolgen/internal/probe"
)

//go:generate go run github.com/poolgen/poolgen/cmd/poolgen -type=Probe,ProbePtr

// Probe is a conformance-suite task with a value receiver: the pool holds
// it by value.
//
//poolgen:pools fixed,dynamic,stealing,priority,batch,router,fair
//poolgen:batch RunProbes
type Probe struct {
	ID  int
	Ctl *probe.Control

	// Rank of the task in the priority pools.
	Prio int       // Priority(): higher runs first
	Due  time.Time // Deadline(): earlier runs first; zero for none
	Size int       // Cost(): cheaper runs first

	// Lane is the task's class: a router sends it to its lane's pool.
	Lane int `poolgen:"class"`
	// Team is the task's tenant in the fair pool (Tenant()).
	Team int
}

// Run does what Ctl says task ID does.
func (p Probe) Run(ctx context.Context) error { return p.Ctl.Run(ctx, p.ID) }

// Priority returns Prio.
func (p Probe) Priority() int64 { return int64(p.Prio) }

// Deadline returns Due.
func (p Probe) Deadline() time.Time { return p.Due }

// Cost returns Size.
func (p Probe) Cost() int64 { return int64(p.Size) }

// Tenant returns Team.
func (p Probe) Tenant() int { return p.Team }

// Timeout returns the timeout Ctl gives task ID (0 for the pool's).
func (p Probe) Timeout() time.Duration { return p.Ctl.Timeout(p.ID) }

// ProbePtr is a conformance-suite task with a pointer receiver, and a lock
// that must not be copied: the pool holds *ProbePtr.
//
//poolgen:pools fixed,dynamic,stealing,priority,batch,router,fair
//poolgen:batch RunProbePtrs
type ProbePtr struct {
	mu  sync.Mutex
	ID  int
	Ctl *probe.Control

	// Rank of the task in the priority pools, as in Probe.
	Prio int
	Due  time.Time
	Size int

	// Lane is the task's class, as in Probe.
	Lane int `poolgen:"class"`
	Team int
}

// Run does what Ctl says task ID does.
func (p *ProbePtr) Run(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Ctl.Run(ctx, p.ID)
}

// Priority returns Prio.
func (p *ProbePtr) Priority() int64 { return int64(p.Prio) }

// Deadline returns Due.
func (p *ProbePtr) Deadline() time.Time { return p.Due }

// Cost returns Size.
func (p *ProbePtr) Cost() int64 { return int64(p.Size) }

// Tenant returns Team.
func (p *ProbePtr) Tenant() int { return p.Team }

// Timeout returns the timeout Ctl gives task ID (0 for the pool's).
func (p *ProbePtr) Timeout() time.Duration { return p.Ctl.Timeout(p.ID) }

// RunProbes is the batch handler of Probe's batch pool: it runs each task
// of the batch (the conformance suite runs the batch pool with batches of
// one, where a batch's outcome is its task's).
func RunProbes(ctx context.Context, batch []Probe) error {
	var err error
	for _, p := range batch {
		if e := p.Run(ctx); e != nil {
			err = e
		}
	}
	return err
}

// RunProbePtrs is RunProbes for ProbePtr.
func RunProbePtrs(ctx context.Context, batch []*ProbePtr) error {
	var err error
	for _, p := range batch {
		if e := p.Run(ctx); e != nil {
			err = e
		}
	}
	return err
}
