package copylock

import (
	"context"
	"sync"
)

type Job struct {
	Name string
	mu   sync.Mutex
}

func (j Job) Run(context.Context) error { return nil }
