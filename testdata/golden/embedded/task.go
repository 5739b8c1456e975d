// Package embedded has a task type whose Run is promoted from an embedded
// field.
package embedded

import "context"

type base struct{ id int }

func (b base) Run(context.Context) error { return nil }

//poolgen:pools fixed
type Job struct {
	base
	Name string
}
