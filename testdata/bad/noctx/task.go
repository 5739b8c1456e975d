package noctx

type Job struct{}

func (j Job) Run() error { return nil }
