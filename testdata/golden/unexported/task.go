// Package unexported has an unexported task type: the pools are unexported too.
package unexported

import "context"

//poolgen:pools fixed
type job struct{ n int }

func (j job) Run(context.Context) error { return nil }
