package badsig

import "context"

type Job struct{}

func (j Job) Run(ctx context.Context) (int, error) { return 0, nil }
