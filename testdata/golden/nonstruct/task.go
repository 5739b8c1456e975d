// Package nonstruct has a task type that is not a struct.
package nonstruct

import "context"

//poolgen:pools fixed
type Tick int

func (t Tick) Run(context.Context) error { return nil }
