package pattern

import "context"

//poolgen:pools fixed, fixd
type Job struct{}

func (j Job) Run(context.Context) error { return nil }
