package duptag

import "context"

//poolgen:pools batch
//poolgen:batch save
type Job struct {
	A string `poolgen:"batchkey"`
	B string `poolgen:"batchkey"`
}

func save(context.Context, []Job) error { return nil }
