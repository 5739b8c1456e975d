package poolimpl

import (
	"context"
	"reflect"
	"time"
	"unsafe"
)

// Lane is what a pool needs from the code that knows its task type T: the
// loops that call the task's Run. Generated code supplies loops that call
// Run directly, which is the point of generating; package templates
// supplies them for its generic pools, calling Run through the type
// parameter. The pool calls a loop once per batch (fixed and dynamic
// pools) or once per worker goroutine (work-stealing pools), so only the
// task's own Run call is per task.
type Lane[T any] struct {
	// Batch runs what is left of a fixed or dynamic pool worker's batch:
	//
	//	ctx := w.Context()
	//	for t := w.First(); t != nil; {
	//		t = w.Next((*t).Run(ctx))
	//	}
	Batch func(w *Worker[T])
	// Steal runs a work-stealing pool worker's tasks until it should
	// exit: the same loop over a *StealWorker.
	Steal func(w *StealWorker[T])
	// Rank runs a priority, deadline or cost pool worker's tasks until it
	// should exit: the same loop over a *RankWorker.
	Rank func(w *RankWorker[T])
	// Fair runs a fair pool worker's tasks until it should exit: the
	// same loop over a *FairWorker.
	Fair func(w *FairWorker[T])
	// One runs t on the calling goroutine: the CallerRuns policy, or a
	// fork with nowhere to go.
	One func(ctx context.Context, t T) error
	// Timeout, if not nil, reads a task's own timeout (its Timeout
	// method) as it starts; see poolrt.TaskTimeout.
	Timeout func(t *T) time.Duration
}

// RunOnCaller runs t with run on the calling goroutine (the CallerRuns
// policy, or a fork with nowhere to go), counting its outcome in m and
// reporting a failure or a panic through h: the panic never reaches
// the caller.
//
// t comes by value: a pointer passed to run, a func value, would escape,
// and with it every task a work-stealing pool's Fork is given.
func RunOnCaller[T any](ctx context.Context, t T, run func(context.Context, T) error, h *taskHooks[T], m *Meter, tt *timeouts[T]) {
	if tt.on() {
		var cancel context.CancelFunc
		ctx, cancel = tt.callerCtx(ctx, t)
		defer cancel()
	}
	panicking := true
	defer func() {
		if panicking {
			m.CallerDone(nil, true)
			h.panicked(t, recover())
		}
	}()
	err := run(ctx, t)
	panicking = false
	h.callerEnded(m, &t, m.callerTimedOut(ctx, err), false)
}

// Nilable reports whether a task of type T can be nil: T is a pointer
// type. Pools of such tasks check each one with [IsNil] and refuse a nil
// task with [ErrNilTask], whose Run would panic on a worker.
func Nilable[T any]() bool { return reflect.TypeFor[T]().Kind() == reflect.Pointer }

// IsNil reports whether *t is a nil pointer. T must be a pointer type
// ([Nilable]).
func IsNil[T any](t *T) bool { return *(*unsafe.Pointer)(unsafe.Pointer(t)) == nil }
