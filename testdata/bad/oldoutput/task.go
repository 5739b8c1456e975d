package oldoutput

import "context"

//poolgen:pools fixed
type Job struct{}

func (j Job) Run(context.Context) error { return nil }
