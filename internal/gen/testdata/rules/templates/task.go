// Package templates is a fixture of internal/gen's tests: the smallest
// pools that take every path of the rewrite, obeying every rule for
// template code (internal/gen/rules.go). They are not worth running.
package templates

import (
	"context"
	"time"
)

// Task is what every pool runs.
type Task interface {
	Run(ctx context.Context) error
}

// Ranked is a task with a priority: a call of Priority is what a tagged
// field stands in for.
type Ranked interface {
	Task
	Priority() int64
}

// Timed is a task with a deadline.
type Timed interface {
	Task
	Deadline() time.Time
}

// Costed is a task with a cost.
type Costed interface {
	Task
	Cost() int64
}

// Keyed is a task with a batch key: K is a key type parameter because
// BatchKey returns it.
type Keyed[K comparable] interface {
	BatchKey() K
}

// BatchHandler handles one batch of tasks. A run for a task type with a
// handler never emits it.
type BatchHandler[T any] func(ctx context.Context, batch []T) error

// runOne runs t: the pools' one call of Run.
func runOne[T Task](ctx context.Context, t T) error { return t.Run(ctx) }

// unused is used by no pool, so no run emits it.
func unused[T Task]() {}
