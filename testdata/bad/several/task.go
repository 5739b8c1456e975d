package several

import "context"

//poolgen:pools fixd
type A struct{}

func (A) Run(context.Context) error { return nil }

//poolgen:pools fixed
type B struct{}

func (B) Run() {}
