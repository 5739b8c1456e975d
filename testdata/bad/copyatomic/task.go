package copyatomic

import (
	"context"
	"sync/atomic"
)

type inner struct{ hits atomic.Int64 }

type Job struct {
	Stats inner
}

func (j Job) Run(context.Context) error { return nil }
