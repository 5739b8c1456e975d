package floating

import "context"

//poolgen:pools fixed

// Job is a task.
type Job struct{}

func (j Job) Run(context.Context) error { return nil }
