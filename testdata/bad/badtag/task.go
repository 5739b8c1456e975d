package badtag

import "context"

//poolgen:pools fixed
type Job struct {
	P int `poolgen:"prio"`
}

func (j Job) Run(context.Context) error { return nil }
