package noclass

import "context"

//poolgen:pools fixed,router
type Job struct{ N int }

func (Job) Run(context.Context) error { return nil }
