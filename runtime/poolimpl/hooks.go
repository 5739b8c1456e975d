package poolimpl

import (
	"fmt"
	"reflect"
	"runtime/debug"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// taskHooks reports a task's failure or panic: to the typed hooks the user
// gave (poolrt.OnTaskError, poolrt.OnTaskPanic), which receive the task
// itself, or else to the untyped ones and the log (config.Settings). The
// options hold the typed hooks as any, since options are not generic;
// resolveHooks turns them back into functions of T once, at Init, so
// that a report costs one nil check and a direct call.
type taskHooks[T any] struct {
	set     *config.Settings
	onError func(T, error)
	onPanic func(T, *poolrt.PanicError)
	// brk is the circuit breaker, nil when off (breaker.go).
	brk *gate[T]
}

// resolveHooks returns the hooks of a pool of T configured by set, or a
// *poolrt.ConfigError for a typed hook of another task type.
func resolveHooks[T any](set *config.Settings) (taskHooks[T], error) {
	h := taskHooks[T]{set: set}
	var err error
	if h.brk, err = newGate[T](set); err != nil {
		return h, err
	}
	if set.TaskError != nil {
		f, ok := set.TaskError.(func(T, error))
		if !ok {
			return h, hookTypeError[T]("OnTaskError", set.TaskError)
		}
		h.onError = f
	}
	if set.TaskPanic != nil {
		f, ok := set.TaskPanic.(func(T, *poolrt.PanicError))
		if !ok {
			return h, hookTypeError[T]("OnTaskPanic", set.TaskPanic)
		}
		h.onPanic = f
	}
	return h, nil
}

// hookTypeError is the error of a typed hook f, of option name, for tasks
// of another type than T.
func hookTypeError[T any](name string, f any) error {
	return &poolrt.ConfigError{
		Option: name + "(...)",
		Reason: fmt.Sprintf("the handler takes tasks of type %v, the pool's are %v", reflect.TypeOf(f).In(0), reflect.TypeFor[T]()),
	}
}

// failed reports task t's non-nil error err. A panic in the hook is
// contained (Stats.HookPanics).
func (h *taskHooks[T]) failed(t *T, err error) {
	if h.onError != nil {
		h.set.CallHook("OnTaskError", func() { h.onError(*t, err) })
		return
	}
	// The type, not the task: converting the task to an interface would
	// allocate for every failure, logged or not.
	h.set.TaskFailed(reflect.TypeFor[T](), err)
}

// panicked reports task t's recovered panic v (nil for runtime.Goexit)
// and returns the value reported and the stack, as
// config.Settings.TaskPanicked does; like it, it must be called from the
// deferred function that recovered.
func (h *taskHooks[T]) panicked(t T, v any) (value any, stack []byte) {
	if h.onPanic == nil {
		return h.set.TaskPanicked(t, v)
	}
	if v == nil {
		v = poolrt.ErrGoexit
	}
	stack = debug.Stack()
	h.set.CallHook("OnTaskPanic", func() { h.onPanic(t, &poolrt.PanicError{Task: t, Value: v, Stack: stack}) })
	return v, stack
}
