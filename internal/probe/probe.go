// Package probe instruments tasks for the conformance suite: a Control
// decides what each task does when it runs (succeed, fail, panic, block,
// call runtime.Goexit, or run a function the test supplies) and records how
// many times each task ran and in which order tasks started, so a test can
// check that every accepted task ran exactly once.
//
// A Control that blocks tasks must be created inside the testing/synctest
// bubble that runs the pool, so that its channels are the bubble's and a
// blocked task counts as durably blocked.
package probe

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Behavior is what a probe task does when it runs.
type Behavior uint8

const (
	Succeed Behavior = iota // return nil
	Fail                    // return ErrProbe
	Panic                   // panic with ErrProbe
	Block                   // report on Started, then wait until Release or the task's context is done
	Goexit                  // call runtime.Goexit
	Call                    // call the function set with SetFunc and return its result
)

// ErrProbe is what failing and panicking probe tasks return or panic with.
var ErrProbe = errors.New("probe: task failed on purpose")

// Func is the body of a task whose behavior is Call. ctx is the context the
// pool passed to Run.
type Func func(ctx context.Context) error

// Control is shared by the probe tasks of one test. It is safe for
// concurrent use. Its per-task bookkeeping is a few atomic operations and
// allocates nothing, so that allocation tests can run probe tasks.
type Control struct {
	runs     []atomic.Int32
	behavior []atomic.Uint32
	fn       []atomic.Pointer[Func]
	timeout  []atomic.Int64 // per task, for the tasks' Timeout method
	order    []atomic.Int32 // order[k] = 1 + id of the k-th task started
	started  atomic.Int64
	ended    atomic.Int64
	gate     chan struct{}
	once     sync.Once
	blocked  chan int // ids of Block tasks as they start
}

// New returns a Control for task ids 0..n-1, all set to Succeed.
func New(n int) *Control {
	return &Control{
		runs:     make([]atomic.Int32, n),
		behavior: make([]atomic.Uint32, n),
		fn:       make([]atomic.Pointer[Func], n),
		timeout:  make([]atomic.Int64, n),
		order:    make([]atomic.Int32, n),
		gate:     make(chan struct{}),
		blocked:  make(chan int, n),
	}
}

// Set makes task id behave as b.
func (c *Control) Set(id int, b Behavior) { c.behavior[id].Store(uint32(b)) }

// SetFunc makes task id call f when it runs (behavior Call).
func (c *Control) SetFunc(id int, f Func) {
	c.fn[id].Store(&f)
	c.Set(id, Call)
}

// SetTimeout makes task id state its own timeout d (see Timeout).
func (c *Control) SetTimeout(id int, d time.Duration) { c.timeout[id].Store(int64(d)) }

// Timeout returns the timeout task id states, 0 (the pool's) unless
// SetTimeout set one: the body of the probe tasks' Timeout method.
func (c *Control) Timeout(id int) time.Duration { return time.Duration(c.timeout[id].Load()) }

// Release lets every Block task (now and later) return.
func (c *Control) Release() { c.once.Do(func() { close(c.gate) }) }

// Started returns a channel that receives the id of every Block task when
// it starts. It is buffered for every id; a task that runs more than once
// (a pool bug, which Runs shows) may find it full and is then not reported
// again.
func (c *Control) Started() <-chan int { return c.blocked }

// Runs returns how many times task id has run.
func (c *Control) Runs(id int) int { return int(c.runs[id].Load()) }

// Total returns how many task runs have started in all.
func (c *Control) Total() int { return int(c.started.Load()) }

// Ended returns how many task runs have ended in all: returned, panicked
// or called runtime.Goexit.
func (c *Control) Ended() int { return int(c.ended.Load()) }

// Order returns the ids of the first Len() task runs in the order they
// started (a run that started but is not yet recorded shows as -1).
func (c *Control) Order() []int {
	n := min(c.Total(), len(c.order))
	out := make([]int, n)
	for k := range out {
		out[k] = int(c.order[k].Load()) - 1
	}
	return out
}

// Len returns the number of task ids.
func (c *Control) Len() int { return len(c.runs) }

// Run is the body of every probe task.
func (c *Control) Run(ctx context.Context, id int) error {
	c.runs[id].Add(1)
	if k := c.started.Add(1) - 1; k < int64(len(c.order)) {
		c.order[k].Store(int32(id) + 1)
	}
	defer c.ended.Add(1)
	switch Behavior(c.behavior[id].Load()) {
	case Fail:
		return ErrProbe
	case Panic:
		panic(ErrProbe)
	case Block:
		select {
		case c.blocked <- id:
		default:
		}
		select {
		case <-c.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	case Goexit:
		runtime.Goexit()
	case Call:
		if f := c.fn[id].Load(); f != nil {
			return (*f)(ctx)
		}
	}
	return nil
}

// Hold makes task id behave like Block, except that it waits for the
// returned function to be called rather than for Release. The function may
// be called more than once.
func (c *Control) Hold(id int) (release func()) {
	ch := make(chan struct{})
	c.SetFunc(id, func(ctx context.Context) error {
		select {
		case c.blocked <- id:
		default:
		}
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}
