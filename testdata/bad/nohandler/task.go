package nohandler

import "context"

//poolgen:pools batch
type Job struct{ N int }

func (j Job) Run(context.Context) error { return nil }
