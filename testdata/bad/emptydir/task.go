package emptydir

import "context"

//poolgen:pools
type Job struct{}

func (j Job) Run(context.Context) error { return nil }
