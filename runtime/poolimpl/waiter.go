package poolimpl

import (
	"context"
	"sync"
	"sync/atomic"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// Waiter is the completion handle of a task submitted with SubmitWait:
// the task's outcome travels back to its submitter through it. It rides
// beside the task through the queue (a cell's side slot, a batch slot, a
// deque slot, a priority slot) and is nil for every other task, so a task
// without one costs its worker one nil check. With context propagation
// (poolrt.PropagateContext) every task with a submitter's context takes
// one, abandoned from the start when no one waits (Submit, Fork), to
// carry that context to its worker.
//
// A waiter is used once per task and then recycled by its pool. The
// submitter and the worker that ends the task agree on who recycles it
// with one compare-and-swap on state: if the task ends first, the worker
// sends the outcome and the submitter, having received it, recycles the
// waiter; if the submitter's context ends first, it abandons the waiter
// and the worker recycles it when the task ends. So a waiter is never
// reused while its task may still end, and no worker can signal the
// wrong submitter.
type Waiter struct {
	state atomic.Uint32
	done  chan error // capacity 1: the worker's send never blocks
	pool  *waiters
	// ctx is the submitter's context when the pool propagates it
	// (poolrt.PropagateContext), else nil: the worker that runs the task
	// answers its values (taskCtx.begin).
	ctx context.Context
}

// context returns the submitter's context x carries, or nil for a task
// without a waiter or a pool that does not propagate it.
func (x *Waiter) context() context.Context {
	if x == nil {
		return nil
	}
	return x.ctx
}

// The states of a waiter.
const (
	waiterWaiting   = iota // the submitter waits, or will
	waiterFinished         // the outcome is sent (or on its way)
	waiterAbandoned        // the submitter gave up: the worker recycles it
)

// waiters recycles a pool's waiters: a free list under a lock, not a
// sync.Pool, so that SubmitWait allocates nothing in steady state however
// often the garbage collector runs (a sync.Pool empties itself across
// collections, and under the race detector drops a share of what it is
// given). The list holds as many waiters as SubmitWait calls were ever in
// flight at once. Each pool has its own, so that a waiter's channel
// belongs to the pool's testing/synctest bubble, if any.
type waiters struct {
	mu   sync.Mutex
	free []*Waiter
}

// get returns a waiter ready for a new task; in steady state a recycled
// one.
func (ws *waiters) get() *Waiter {
	ws.mu.Lock()
	var x *Waiter
	if n := len(ws.free); n > 0 {
		x = ws.free[n-1]
		ws.free[n-1] = nil
		ws.free = ws.free[:n-1]
	}
	ws.mu.Unlock()
	if x == nil {
		x = &Waiter{done: make(chan error, 1), pool: ws}
	}
	x.state.Store(waiterWaiting)
	return x
}

// put recycles x, which no task and no submitter holds any more.
func (ws *waiters) put(x *Waiter) {
	x.ctx = nil // the submitter's context is not kept past its task
	ws.mu.Lock()
	ws.free = append(ws.free, x)
	ws.mu.Unlock()
}

// finish delivers err, the outcome of x's task, and reports whether the
// submitter was still waiting for it. When it was not, the outcome is
// the caller's to report (to the pool's hooks), and x is recycled here.
func (x *Waiter) finish(err error) bool {
	if x.state.CompareAndSwap(waiterWaiting, waiterFinished) {
		x.done <- err
		return true
	}
	x.pool.put(x)
	return false
}

// cancel recycles a waiter whose task was never accepted: no worker
// will finish it.
func (x *Waiter) cancel() { x.pool.put(x) }

// wait waits for x's task to end and returns its outcome, or ctx's error
// if ctx ends first; then x is no longer the caller's.
func (x *Waiter) wait(ctx context.Context) error {
	select {
	case err := <-x.done:
		x.pool.put(x)
		return err
	case <-ctx.Done():
	}
	if x.state.CompareAndSwap(waiterWaiting, waiterAbandoned) {
		return ctx.Err() // the worker that ends the task recycles x
	}
	err := <-x.done // the task ended just now: its outcome is on its way
	x.pool.put(x)
	return err
}

// finishPanic delivers a task's panic (value v, its stack) to x as the
// *poolrt.PanicError the OnPanic handler would get.
func (x *Waiter) finishPanic(task, v any, stack []byte) {
	x.finish(&poolrt.PanicError{Task: task, Value: v, Stack: stack})
}

// finishReturned tells x that its task was handed back by ShutdownNow
// and never ran.
func (x *Waiter) finishReturned() { x.finish(poolrt.ErrClosed) }

// runWaited runs t on the calling goroutine for SubmitWait under the
// CallerRuns policy and returns its outcome: what Run returned, or the
// *poolrt.PanicError of its panic (which OnPanic sees too). The outcome
// is the caller's, so a failure is not reported to OnError.
func runWaited[T any](ctx context.Context, t T, run func(context.Context, T) error, h *taskHooks[T], m *Meter, tt *timeouts[T]) (err error) {
	if tt.on() {
		var cancel context.CancelFunc
		ctx, cancel = tt.callerCtx(ctx, t)
		defer cancel()
	}
	panicking := true
	defer func() {
		if panicking {
			m.CallerDone(nil, true)
			v, stack := h.panicked(t, recover())
			err = &poolrt.PanicError{Task: t, Value: v, Stack: stack}
		}
	}()
	err = run(ctx, t)
	panicking = false
	err = m.callerTimedOut(ctx, err)
	h.callerEnded(m, &t, err, true)
	return err
}
