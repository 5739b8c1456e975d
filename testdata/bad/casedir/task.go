package casedir

import "context"

//Poolgen:pools fixed
type Job struct{}

func (j Job) Run(context.Context) error { return nil }
