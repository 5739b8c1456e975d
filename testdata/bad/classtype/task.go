package classtype

import "context"

//poolgen:pools fixed,router
type Job struct {
	Tags []string `poolgen:"class"`
}

func (Job) Run(context.Context) error { return nil }
