// Package templates breaks rule methods of internal/gen/rules.go: FixedPool takes Priority as a method value and a method expression, which no field can stand for.
package templates

import "context"

// Task is what every pool runs.
type Task interface {
	Run(ctx context.Context) error
}

// Ranked is a task with a priority.
type Ranked interface {
	Task
	Priority() int64
}
