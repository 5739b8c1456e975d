package noprio

import "context"

//poolgen:pools priority
type Job struct{ N int }

func (j Job) Run(context.Context) error { return nil }
