package builtin

import "context"

type Job struct{}

func (j Job) Run(context.Context) error { return nil }

func min(a, b int) int { return a }
