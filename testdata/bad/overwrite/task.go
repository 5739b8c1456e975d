package overwrite

import "context"

type Job struct{}

func (j Job) Run(context.Context) error { return nil }
