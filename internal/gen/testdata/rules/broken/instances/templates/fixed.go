package templates

import "context"

// FixedPool runs each T.
type FixedPool[T Task] struct{ tasks []T }

// probe is a task of the templates' own.
type probe struct{}

// Run does nothing.
func (probe) Run(context.Context) error { return nil }

// NewFixedPool instantiates runOne with probe, not with its T.
func NewFixedPool[T Task]() *FixedPool[T] {
	_ = runOne[probe]
	return &FixedPool[T]{}
}
