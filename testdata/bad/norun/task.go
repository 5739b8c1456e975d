package norun

type Job struct{ N int }

func (j Job) Do() error { return nil }
