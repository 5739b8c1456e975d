package nofunc

import "context"

//poolgen:pools batch
//poolgen:batch Save
type Job struct{ N int }

func (Job) Run(context.Context) error { return nil }
