// Package methods is a task type for templates that break rule methods.
package methods

import "context"

// Job is run by a fixed pool that asks for its priority.
//
//poolgen:pools fixed
type Job struct {
	Prio int `poolgen:"priority"`
}

func (Job) Run(context.Context) error { return nil }
