// Package methods has a task type whose pools read it through methods,
// not tagged fields, and whose batch key is a type from another package:
// the generated file calls the methods and imports the key's package.
package methods

import (
	"context"
	"net/netip"
	"time"
)

// Job is ranked, and batched by the address it came from.
//
//poolgen:pools priority,batch
//poolgen:batch saveJobs
type Job struct {
	From netip.Addr
	Prio int
	Due  time.Time
	Size int
}

func (j Job) Run(ctx context.Context) error { return nil }

func (j Job) Priority() int64 { return int64(j.Prio) }

func (j Job) Deadline() time.Time { return j.Due }

func (j Job) Cost() int64 { return int64(j.Size) }

func (j Job) BatchKey() netip.Addr { return j.From }

func saveJobs(ctx context.Context, batch []Job) error { return nil }
