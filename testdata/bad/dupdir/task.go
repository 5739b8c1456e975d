package dupdir

import "context"

//poolgen:pools fixed,fixed
type Job struct{}

func (j Job) Run(context.Context) error { return nil }
