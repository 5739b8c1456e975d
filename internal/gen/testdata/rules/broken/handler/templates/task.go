// Package templates breaks rule handler of internal/gen/rules.go: BatchPool uses its handler in ways that the rewrite cannot carry over.
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

// BatchHandler handles one batch of tasks.
type BatchHandler[T any] func(ctx context.Context, batch []T) error
