package templates

import (
	"context"

	"github.com/poolgen/poolgen/runtime/poolimpl"
)

// Task is what every pool but the batch pool runs: a value (or pointer)
// whose Run does the work. The context passed to Run is the pool's: it is
// canceled by ShutdownNow, so a long task should return when it is done.
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

// batchLane returns the lane of the fixed and dynamic pools of T: the
// loops below, which call Run.
func batchLane[T Task]() poolimpl.Lane[T] {
	return poolimpl.Lane[T]{Batch: runBatch[T], One: runOne[T]}
}

// stealLane returns the lane of the work-stealing pool of T.
func stealLane[T Task]() poolimpl.Lane[T] {
	return poolimpl.Lane[T]{Steal: runSteal[T], One: runOne[T]}
}

// rankLane returns the lane of the priority, deadline and cost pools of T.
func rankLane[T Task]() poolimpl.Lane[T] {
	return poolimpl.Lane[T]{Rank: runRank[T], One: runOne[T]}
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
