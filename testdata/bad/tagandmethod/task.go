package tagandmethod

import "context"

//poolgen:pools batch
//poolgen:batch save
type Job struct {
	K string `poolgen:"batchkey"`
}

func (j Job) BatchKey() string { return j.K }

func save(context.Context, []Job) error { return nil }
