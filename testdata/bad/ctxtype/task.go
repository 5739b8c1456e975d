package ctxtype

import "time"

type Job struct{}

func (j Job) Run(d time.Duration) error { return nil }
