package timeouttag

import "context"

//poolgen:pools fixed
type Job struct {
	Limit int64 `poolgen:"timeout"`
}

func (j Job) Run(ctx context.Context) error { return nil }
