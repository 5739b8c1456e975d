package poolrt

import (
	"errors"
	"fmt"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// ErrClosed is returned by Submit and TrySubmit once Shutdown or ShutdownNow
// has been called: the task was not accepted and will not run.
var ErrClosed = errors.New("poolgen: pool closed")

// ErrQueueFull is returned by TrySubmit, and by Submit under the [Reject]
// policy, when the queue has no room: the task was not accepted.
var ErrQueueFull = errors.New("poolgen: queue full")

// ErrNilTask is returned by Submit and TrySubmit of a pool of pointer
// tasks for a nil task: it was not accepted, since its Run would panic.
var ErrNilTask = errors.New("poolgen: nil task")

// ErrGoexit is the [PanicError].Value of a task (or batch handler, or
// hook) that called runtime.Goexit: errors.Is(err, ErrGoexit) tells such
// an exit from a panic.
var ErrGoexit = config.ErrGoexit

// ConfigError is returned by a pool constructor for an option whose value
// cannot work, with the option as the caller wrote it (Option, for example
// "Workers(0)") and what is wrong and what would be accepted (Reason). No
// pool is created.
type ConfigError = config.ConfigError

// PanicError describes a task whose Run panicked. The pool recovers the
// panic, counts it, replaces the worker and passes a *PanicError to the
// handler set with [OnPanic].
type PanicError struct {
	// Task is the task that panicked (boxed: this is the slow path).
	Task any
	// Value is the value the task passed to panic.
	Value any
	// Stack is the panicking goroutine's stack, as runtime/debug.Stack
	// formats it.
	Stack []byte
}

// Error reports the panic value; the stack is in the Stack field.
func (e *PanicError) Error() string {
	return fmt.Sprintf("poolgen: task panicked: %v", e.Value)
}

// Unwrap returns the panic value when it is an error, so that errors.Is and
// errors.As see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
