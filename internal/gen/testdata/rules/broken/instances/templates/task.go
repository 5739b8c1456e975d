// Package templates breaks rule instances of internal/gen/rules.go: NewFixedPool instantiates runOne with a type of its own.
package templates

import "context"

// Task is what every pool runs.
type Task interface {
	Run(ctx context.Context) error
}

// runOne runs t.
func runOne[T Task](ctx context.Context, t T) error { return t.Run(ctx) }
