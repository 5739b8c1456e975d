package unusedtag

import (
	"context"
	"time"
)

//poolgen:pools fixed
type Job struct {
	Due time.Time `poolgen:"deadline"`
}

func (j Job) Run(context.Context) error { return nil }
