// Package dynamic has a task type for the dynamic pool, the one pattern
// the other golden cases leave out.
package dynamic

import "context"

// Fetch downloads a page, on a pool that grows and shrinks with the load.
//
//poolgen:pools dynamic
type Fetch struct{ URL string }

func (f Fetch) Run(ctx context.Context) error { return nil }
