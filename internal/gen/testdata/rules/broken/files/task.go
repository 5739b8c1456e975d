// Package files is a task type for templates that break rule files.
package files

import "context"

// Job is run by a fixed pool.
//
//poolgen:pools fixed
type Job struct{}

func (Job) Run(context.Context) error { return nil }
