package collision

import "context"

type Job struct{}

func (j Job) Run(context.Context) error { return nil }

// JobFixedPool is the user's own, and poolgen must not redeclare it.
type JobFixedPool struct{}
