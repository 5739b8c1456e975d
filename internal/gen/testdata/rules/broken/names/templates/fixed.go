package templates

// FixedPool runs each T.
type FixedPool[T Task] struct{ tasks []T }

// queue is a helper.
func queue() {}

// PoolgenQueue is another, whose name a task type called poolgen makes
// queue's.
func PoolgenQueue() {}
