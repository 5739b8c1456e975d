package othertag

import "context"

//poolgen:pools fixed
type Job struct {
	Meta Meta
	Opts struct {
		Cost int `poolgen:"cost"`
	}
}

// Meta is a field of Job, not embedded in it: its tags are never read.
type Meta struct {
	Prio int `poolgen:"priority"`
}

func (j Job) Run(context.Context) error { return nil }
