package methodsig

import "context"

//poolgen:pools priority
type Job struct{ p int }

func (j Job) Run(ctx context.Context) error { return nil }

func (j Job) Priority() int { return j.p }
