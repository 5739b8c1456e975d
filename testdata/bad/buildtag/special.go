//go:build special && !windows

package buildtag

import "context"

//poolgen:pools fixed
type Job struct{}

func (Job) Run(context.Context) error { return nil }
