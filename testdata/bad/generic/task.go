package generic

import "context"

type Job[T any] struct{ v T }

func (j Job[T]) Run(context.Context) error { return nil }
