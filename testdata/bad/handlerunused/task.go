package handlerunused

import "context"

//poolgen:pools fixed
//poolgen:batch save
type Job struct{ N int }

func (Job) Run(context.Context) error { return nil }

func save(context.Context, []Job) error { return nil }
