package timeoutandmethod

import (
	"context"
	"time"
)

//poolgen:pools fixed
type Job struct {
	Limit time.Duration `poolgen:"timeout"`
}

func (j Job) Run(ctx context.Context) error { return nil }

func (j Job) Timeout() time.Duration { return j.Limit }
