package casename

import "context"

//poolgen:Pools fixed
type Job struct{}

func (j Job) Run(context.Context) error { return nil }
