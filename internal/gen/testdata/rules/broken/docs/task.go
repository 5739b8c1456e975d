// Package docs is a task type for templates that break rule docs.
package docs

import "context"

// Job is run by a fixed pool.
//
//poolgen:pools fixed
type Job struct{}

func (Job) Run(context.Context) error { return nil }
