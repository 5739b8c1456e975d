package misplaced

import "context"

type Job struct{}

//poolgen:pools fixed
func (j Job) Run(context.Context) error { return nil }
