package generated

import (
	"context"
	"sync"

	"github.com/poolgen/poolgen/internal/probe"
)

//go:generate go run github.com/poolgen/poolgen/cmd/poolgen -type=Probe,ProbePtr

// Probe is a conformance-suite task with a value receiver: the pool holds
// it by value.
//
//poolgen:pools fixed
type Probe struct {
	ID  int
	Ctl *probe.Control
}

// Run does what Ctl says task ID does.
func (p Probe) Run(ctx context.Context) error { return p.Ctl.Run(ctx, p.ID) }

// ProbePtr is a conformance-suite task with a pointer receiver, and a lock
// that must not be copied: the pool holds *ProbePtr.
//
//poolgen:pools fixed
type ProbePtr struct {
	mu  sync.Mutex
	ID  int
	Ctl *probe.Control
}

// Run does what Ctl says task ID does.
func (p *ProbePtr) Run(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Ctl.Run(ctx, p.ID)
}
