// Package timeout has task types that state their own timeout in a
// field tagged poolgen:"timeout", held by value and by pointer: their
// pools read the field for each task, as they would a Timeout method.
package timeout

import (
	"context"
	"time"
)

// Fetch gives each fetch the time its caller allows.
//
//poolgen:pools fixed
type Fetch struct {
	URL   string
	Limit time.Duration `poolgen:"timeout"`
}

func (f Fetch) Run(ctx context.Context) error { return nil }

// Budget is embedded in Job, which reads its tagged field.
type Budget struct {
	Timeout time.Duration `poolgen:"timeout"`
}

// Job is held by pointer; its timeout is promoted from Budget, under the
// name a method would have.
//
//poolgen:pools stealing
type Job struct {
	Budget
	Name string
}

func (j *Job) Run(ctx context.Context) error { return nil }
