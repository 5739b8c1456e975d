// Package templates breaks rule typeparams of internal/gen/rules.go: pair has two task type parameters, and keyOf a key type parameter in a pool that batches by no key.
package templates

import "context"

// Task is what every pool runs.
type Task interface {
	Run(ctx context.Context) error
}

// Keyed is a task with a batch key.
type Keyed[K comparable] interface {
	BatchKey() K
}
