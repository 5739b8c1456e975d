package notenant

import "context"

//poolgen:pools fair
type Job struct {
	Customer string
}

func (j Job) Run(context.Context) error { return nil }
