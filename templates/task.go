package templates

import "context"

// Task is what every pool runs: a value (or pointer) whose Run does the
// work. The context passed to Run is the pool's: it is cancelled by
// ShutdownNow, so a long task should return when it is done.
//
// A value type with a value-receiver Run is stored by value in the queue
// (no allocation per task); a type whose Run has a pointer receiver is
// pooled as a pointer (T = *Type).
type Task interface {
	Run(ctx context.Context) error
}
