package poolimpl

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// timeouts is a pool's per-task timeout (poolrt.TaskTimeout): the pool's
// default and the reader of a task's own (a Timeout method, through the
// lane). It is off, and costs a worker one nil check per task, when
// neither is set.
type timeouts[T any] struct {
	def time.Duration
	of  func(*T) time.Duration // Lane.Timeout, or nil
}

// on reports whether tasks may have a timeout.
func (tt *timeouts[T]) on() bool { return tt.def > 0 || tt.of != nil }

// get returns task t's timeout: its own if it states one (> 0), else the
// pool's; 0 means none.
func (tt *timeouts[T]) get(t *T) time.Duration {
	if tt.of != nil {
		if d := tt.of(t); d > 0 {
			return d
		}
	}
	return tt.def
}

// callerCtx returns the context for t run on its submitter's goroutine
// (CallerRuns) under ctx, with t's timeout, and the function that ends
// it. Off the workers, where no per-worker context can be reused, it is
// an ordinary context.WithTimeout. Callers check on first: t, passed on
// to the reader, escapes, and a copy of it is allocated per call.
func (tt *timeouts[T]) callerCtx(ctx context.Context, t T) (context.Context, context.CancelFunc) {
	if d := tt.get(&t); d > 0 {
		return context.WithTimeout(ctx, d)
	}
	return ctx, func() {}
}

// timedOut returns err, the error of a task whose context expired
// (expired) while it ran, as the pool reports it: wrapping
// context.DeadlineExceeded. A task that returned nil succeeded, however
// late.
func timedOut(err error, expired bool) (error, bool) {
	if !expired || err == nil {
		return err, false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return err, true
	}
	return &timeoutError{err}, true
}

// timeoutError is the error of a task that ran out of time and returned
// an error of its own rather than its context's.
type timeoutError struct{ err error }

func (e *timeoutError) Error() string { return "poolgen: task timed out: " + e.err.Error() }

// Unwrap returns context.DeadlineExceeded and the task's error, so that
// errors.Is finds either.
func (e *timeoutError) Unwrap() []error { return []error{context.DeadlineExceeded, e.err} }

// taskCtx is a worker's context for tasks with a timeout: the pool's
// context, with the running task's deadline. One per worker slot, made
// when the worker is first started and reused for each of its tasks, so
// that a timeout costs a timer reset and a few locked stores per task,
// not a context.WithDeadline (a context, a timer and their allocations).
// A task's Run must not use it after returning (as it must not use the
// tasks' context after ShutdownNow): the next task's deadline shows
// through it.
//
// Done's channel is kept from task to task until it is closed, by the
// timer or by the pool's context ending (ShutdownNow); the next task then
// gets a new one.
type taskCtx struct {
	parent context.Context
	timer  *time.Timer

	mu       sync.Mutex
	deadline time.Time // zero: the running task has none
	running  bool
	attempt  int // the running task's attempt (poolrt.Attempt)
	// from is the running task's submitter's context when the pool
	// propagates it (poolrt.PropagateContext), else nil.
	from   context.Context
	done   chan struct{}
	closed bool  // done is closed
	err    error // why done was closed
}

// newTaskCtx returns a worker's timeout context over parent, the pool's.
func newTaskCtx(parent context.Context) *taskCtx {
	c := &taskCtx{parent: parent, done: make(chan struct{})}
	c.timer = time.AfterFunc(time.Hour, c.expire)
	c.timer.Stop()
	context.AfterFunc(parent, c.parentDone)
	return c
}

// begin starts a task with timeout d (none if d <= 0), submitted with
// context from (nil when the pool does not propagate it), whose deadline
// bounds the task too when bound is set (poolrt.PropagateDeadline).
func (c *taskCtx) begin(d time.Duration, attempt int, from context.Context, bound bool) {
	var now, dl time.Time
	wait := d
	if d > 0 {
		now = time.Now()
		dl = now.Add(d)
	}
	if bound && from != nil {
		if sd, ok := from.Deadline(); ok && (dl.IsZero() || sd.Before(dl)) {
			if now.IsZero() {
				now = time.Now()
			}
			dl, wait = sd, sd.Sub(now)
		}
	}
	c.mu.Lock()
	c.attempt, c.from = attempt, from
	if c.closed && c.parent.Err() == nil {
		c.done, c.closed, c.err = make(chan struct{}), false, nil
	}
	c.running = true
	c.deadline = dl
	if !dl.IsZero() && wait <= 0 && !c.closed {
		// A submitter's deadline already past: the task starts with its
		// context ended.
		c.err, c.closed = context.DeadlineExceeded, true
		close(c.done)
	}
	c.mu.Unlock()
	if wait > 0 && !dl.IsZero() {
		c.timer.Reset(wait)
	}
}

// end ends the running task, which returned err, and returns err as the
// pool reports it and whether the task timed out.
func (c *taskCtx) end(err error) (error, bool) {
	if !c.deadline.IsZero() {
		c.timer.Stop()
	}
	c.mu.Lock()
	expired := c.closed && c.err == context.DeadlineExceeded
	c.running, c.deadline, c.from = false, time.Time{}, nil
	c.mu.Unlock()
	return timedOut(err, expired)
}

// expire is the timer's function: it cancels the running task if its
// deadline has passed. A timer that fires late, for a task that has
// ended, finds the next task's later deadline (or none) and does nothing.
func (c *taskCtx) expire() {
	c.mu.Lock()
	if c.running && !c.closed && !c.deadline.IsZero() && !time.Now().Before(c.deadline) {
		c.err, c.closed = context.DeadlineExceeded, true
		close(c.done)
	}
	c.mu.Unlock()
}

// parentDone cancels the running task, and every later one, when the
// pool's context ends.
func (c *taskCtx) parentDone() {
	c.mu.Lock()
	if !c.closed {
		c.err, c.closed = c.parent.Err(), true
		close(c.done)
	}
	c.mu.Unlock()
}

// submitter returns the running task's submitter's context when the
// pool propagates it, else nil: what a subtask it forks carries.
func (c *taskCtx) submitter() context.Context {
	c.mu.Lock()
	from := c.from
	c.mu.Unlock()
	return from
}

// Deadline returns the running task's deadline, if it has one.
func (c *taskCtx) Deadline() (time.Time, bool) {
	c.mu.Lock()
	d := c.deadline
	c.mu.Unlock()
	return d, !d.IsZero()
}

// Done returns a channel closed when the running task's time is up or the
// pool's context ends.
func (c *taskCtx) Done() <-chan struct{} {
	c.mu.Lock()
	d := c.done
	c.mu.Unlock()
	return d
}

// Err returns context.DeadlineExceeded once the running task's time is
// up, context.Canceled once the pool's context ended, else nil.
func (c *taskCtx) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	return err
}

// Value answers the running task's attempt (poolrt.Attempt), then asks
// the task's submitter's context, when the pool propagates it, and last
// the pool's context.
func (c *taskCtx) Value(key any) any {
	c.mu.Lock()
	a, from := c.attempt, c.from
	c.mu.Unlock()
	if _, ok := key.(config.AttemptKey); ok {
		return a
	}
	if from != nil {
		if v := from.Value(key); v != nil {
			return v
		}
	}
	return c.parent.Value(key)
}
