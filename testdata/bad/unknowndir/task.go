package unknowndir

import "context"

//poolgen:pools fixed
//poolgen:poolz fixed
type Job struct{}

func (j Job) Run(context.Context) error { return nil }
