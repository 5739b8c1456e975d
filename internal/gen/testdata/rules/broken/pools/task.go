// Package pools is a task type for templates that break rule pools.
package pools

import "context"

// Job is run by a fixed pool.
//
//poolgen:pools fixed
type Job struct{}

func (Job) Run(context.Context) error { return nil }
