package templates

import (
	"context"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// Task is what every pool but the batch pool runs: a value (or pointer)
// whose Run does the work. The context passed to Run is the pool's: it is
// cancelled by ShutdownNow, so a long task should return when it is done.
//
// A value type with a value-receiver Run is stored by value in the queue
// (no allocation per task); a type whose Run has a pointer receiver is
// pooled as a pointer (T = *Type).
type Task interface {
	Run(ctx context.Context) error
}

// Keyed is what a batch pool groups tasks by: tasks with equal keys go into
// the same batch. To batch tasks regardless of any key, use struct{} as K
// and return struct{}{}.
type Keyed[K comparable] interface {
	BatchKey() K
}

// BatchHandler processes one batch: tasks of equal key, in submission
// order. The slice belongs to the pool and is reused once the handler
// returns: the handler must not retain it (copy what it keeps).
type BatchHandler[T any] func(ctx context.Context, batch []T) error

// runOnCaller runs t on the calling goroutine (the CallerRuns policy, or a
// fork with nowhere to go), counting its outcome in m and reporting a
// failure or a panic through set: the panic never reaches the caller.
func runOnCaller[T Task](ctx context.Context, t *T, set *poolrt.Settings, m *poolrt.Meter) {
	panicking := true
	defer func() {
		if panicking {
			m.CallerDone(nil, true)
			set.TaskPanicked(*t, recover())
		}
	}()
	err := (*t).Run(ctx)
	panicking = false
	m.CallerDone(err, false)
	if err != nil {
		set.TaskFailed(err)
	}
}
