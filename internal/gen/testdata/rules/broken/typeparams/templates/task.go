// Package templates breaks rule typeparams of internal/gen/rules.go: pair and twin have two task type parameters, twoKeys two key type parameters, and keyOf a key type parameter in a pool that batches by no key.
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

// Pair is a task with two keys.
type Pair[K, L comparable] interface {
	First() K
	Second() L
}
