package templates

import (
	"context"
	"time"

	"github.com/poolgen/poolgen/runtime/poolimpl"
)

// Task is what every pool but the batch pool runs: a value (or pointer)
// whose Run does the work. The context passed to Run is the pool's: it is
// canceled by ShutdownNow, so a long task should return when it is done.
// With a timeout (poolrt.TaskTimeout, or a Timeout() time.Duration method
// on the task type) it also ends at the task's deadline; Run must not keep
// it after returning.
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

// FairTask is a task with a tenant, for FairPool: the pool shares its
// workers between tenants. K is any comparable type: a string, an
// integer, a struct of them. poolgen binds Tenant either to the task
// type's own method or to a struct field tagged `poolgen:"tenant"`.
type FairTask[K comparable] interface {
	Task
	Tenant() K
}

// BatchHandler processes one batch: tasks of equal key, in submission
// order. The slice belongs to the pool and is reused once the handler
// returns: the handler must not retain it (copy what it keeps).
type BatchHandler[T any] func(ctx context.Context, batch []T) error

// batchLane returns the lane of the fixed and dynamic pools of T: the
// loops below, which call Run.
func batchLane[T Task]() poolimpl.Lane[T] {
	return poolimpl.Lane[T]{Batch: runBatch[T], One: runOne[T], Timeout: timeoutOf[T]()}
}

// stealLane returns the lane of the work-stealing pool of T.
func stealLane[T Task]() poolimpl.Lane[T] {
	return poolimpl.Lane[T]{Steal: runSteal[T], One: runOne[T], Timeout: timeoutOf[T]()}
}

// rankLane returns the lane of the priority, deadline and cost pools of T.
func rankLane[T Task]() poolimpl.Lane[T] {
	return poolimpl.Lane[T]{Rank: runRank[T], One: runOne[T], Timeout: timeoutOf[T]()}
}

// runBatch runs what is left of a worker's batch. In generated code the
// call of Run is direct: the pool calls this loop once per batch, not per
// task.
func runBatch[T Task](w *poolimpl.Worker[T]) {
	ctx := w.Context()
	for t := w.First(); t != nil; {
		t = w.Next((*t).Run(ctx))
	}
}

// runSteal runs a work-stealing worker's tasks until it should exit.
func runSteal[T Task](w *poolimpl.StealWorker[T]) {
	ctx := w.Context()
	for t := w.First(); t != nil; {
		t = w.Next((*t).Run(ctx))
	}
}

// runRank runs a priority, deadline or cost pool worker's tasks until it
// should exit.
func runRank[T Task](w *poolimpl.RankWorker[T]) {
	ctx := w.Context()
	for t := w.First(); t != nil; {
		t = w.Next((*t).Run(ctx))
	}
}

// runOne runs one task: on a submitter's goroutine under CallerRuns, or a
// fork with nowhere to go.
func runOne[T Task](ctx context.Context, t T) error { return t.Run(ctx) }

// timeouter is a task that states its own timeout (see
// poolrt.TaskTimeout).
type timeouter interface {
	Timeout() time.Duration
}

// timeoutOf returns the reader of T's own timeout for its lane, or nil if
// T has no Timeout method: the check is made once per pool, not per task.
// The reader asserts a pointer (the task's slot, or a pointer task
// itself), so reading allocates nothing. For a task type with a field
// tagged `poolgen:"timeout"`, poolgen replaces this function with one
// that returns a reader of the field.
func timeoutOf[T Task]() func(*T) time.Duration {
	var t T
	if _, ok := any(t).(timeouter); ok && poolimpl.Nilable[T]() {
		return pointerTimeout[T]
	}
	if _, ok := any(&t).(timeouter); ok {
		return slotTimeout[T]
	}
	return nil
}

// slotTimeout reads the timeout of the task in slot t, whose method set
// (*T's) holds Timeout.
func slotTimeout[T Task](t *T) time.Duration { return any(t).(timeouter).Timeout() }

// pointerTimeout reads the timeout of the task *t, a pointer whose method
// set holds Timeout.
func pointerTimeout[T Task](t *T) time.Duration { return any(*t).(timeouter).Timeout() }

// Classed is what a router sends tasks by: each task goes to the pool of
// its class.
type Classed[C comparable] interface {
	Class() C
}
