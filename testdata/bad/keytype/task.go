package keytype

import "context"

//poolgen:pools batch
//poolgen:batch save
type Job struct {
	Tags []string `poolgen:"batchkey"`
}

func save(context.Context, []Job) error { return nil }
