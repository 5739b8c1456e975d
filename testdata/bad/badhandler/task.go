package badhandler

import "context"

//poolgen:pools batch
//poolgen:batch save
type Job struct{ N int }

func save(ctx context.Context, batch []*Job) error { return nil }
