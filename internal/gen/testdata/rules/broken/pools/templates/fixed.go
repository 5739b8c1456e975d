package templates

// FixedPool runs tasks, but has no task type parameter to stand for them.
type FixedPool struct{}
