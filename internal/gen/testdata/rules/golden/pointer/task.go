// Package pointer is an unexported task type whose Run has a pointer
// receiver. Its golden shows: T written as *job, and the names of an
// unexported task type's pools unexported (jobFixedPool,
// newJobFixedPool).
package pointer

import "context"

//poolgen:pools fixed
type job struct{ n int }

func (j *job) Run(context.Context) error { j.n++; return nil }
