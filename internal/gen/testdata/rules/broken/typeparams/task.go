// Package typeparams is a task type for templates that break rule typeparams.
package typeparams

import "context"

// Job is run by a fixed pool.
//
//poolgen:pools fixed
type Job struct{}

func (Job) Run(context.Context) error { return nil }
