// Package accessor is a task type that meets the priority pools' methods
// one way each. Its golden shows: a call of Priority, which Job meets with
// a tagged int32 field, replaced by a call of the accessor that reads the
// field as an int64; Deadline, Job's own method, called as it is (and
// checked by the glue); and no CostPool, since Job has no cost.
package accessor

import (
	"context"
	"time"
)

// Job is queued by priority and by deadline.
//
//poolgen:pools priority
type Job struct {
	Prio int32 `poolgen:"priority"`
	Due  time.Time
}

func (j Job) Run(context.Context) error { return nil }

func (j Job) Deadline() time.Time { return j.Due }
