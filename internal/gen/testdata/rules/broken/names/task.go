// Package names is a task type for templates that break rule names.
package names

import "context"

// poolgen is run by a fixed pool, whose templates' queue and PoolgenQueue
// both become poolgenPoolgenQueue for it.
//
//poolgen:pools fixed
type poolgen struct{}

func (poolgen) Run(context.Context) error { return nil }
