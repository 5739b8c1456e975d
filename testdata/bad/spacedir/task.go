package spacedir

import "context"

// poolgen:pools fixed,dynamic
type Job struct{}

func (j Job) Run(context.Context) error { return nil }
