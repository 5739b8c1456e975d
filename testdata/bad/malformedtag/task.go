package malformedtag

import (
	"context"
	"time"
)

//poolgen:pools priority
type Job struct {
	Prio int       `json:"prio" poolgen:priority`
	Due  time.Time `Poolgen:"deadline"`
	Cost int       `json:"cost",poolgen:"cost"`
}

func (j Job) Run(context.Context) error { return nil }
