package tagtype

import "context"

//poolgen:pools priority
type Job struct {
	Level string `poolgen:"priority"`
}

func (j Job) Run(context.Context) error { return nil }
