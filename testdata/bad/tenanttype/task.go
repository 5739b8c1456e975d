package tenanttype

import "context"

//poolgen:pools fair
type Job struct {
	Customers []string `poolgen:"tenant"`
}

func (j Job) Run(context.Context) error { return nil }
