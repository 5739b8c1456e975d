package testfile

import "context"

//poolgen:pools fixed
type Job struct{}

func (Job) Run(context.Context) error { return nil }
