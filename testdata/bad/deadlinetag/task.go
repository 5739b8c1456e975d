package deadlinetag

import "context"

//poolgen:pools priority
type Job struct {
	Due int64 `poolgen:"deadline"`
}

func (j Job) Run(ctx context.Context) error { return nil }
