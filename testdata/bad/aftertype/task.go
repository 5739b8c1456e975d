package aftertype

import "context"

type Job struct{} //poolgen:pools fixed

type Other struct{}

//poolgen:pools fixed

func (j Job) Run(context.Context) error { return nil }

func (o Other) Run(context.Context) error { return nil }
