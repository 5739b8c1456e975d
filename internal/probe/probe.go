// Package probe instruments tasks for the conformance suite: a Control
// decides what each task does when it runs (succeed, fail, panic, block,
// call runtime.Goexit) and records how many times each task ran, so a test
// can check that every accepted task ran exactly once.
package probe

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
)

// Behavior is what a probe task does when it runs.
type Behavior uint8

const (
	Succeed Behavior = iota // return nil
	Fail                    // return ErrProbe
	Panic                   // panic with ErrProbe
	Block                   // wait until Release or the task's context is done
	Goexit                  // call runtime.Goexit
)

// ErrProbe is what failing and panicking probe tasks return or panic with.
var ErrProbe = errors.New("probe: task failed on purpose")

// Control is shared by the probe tasks of one test. It is safe for
// concurrent use.
type Control struct {
	runs     []atomic.Int32
	behavior []atomic.Uint32
	started  atomic.Int64
	gate     chan struct{}
	once     sync.Once
	// Started receives the id of every Block task when it starts, if
	// non-nil (buffered by the test).
	Started chan int
}

// New returns a Control for task ids 0..n-1, all set to Succeed.
func New(n int) *Control {
	return &Control{
		runs:     make([]atomic.Int32, n),
		behavior: make([]atomic.Uint32, n),
		gate:     make(chan struct{}),
	}
}

// Set makes task id behave as b.
func (c *Control) Set(id int, b Behavior) { c.behavior[id].Store(uint32(b)) }

// Release lets every Block task (now and later) return.
func (c *Control) Release() { c.once.Do(func() { close(c.gate) }) }

// Runs returns how many times task id has run.
func (c *Control) Runs(id int) int { return int(c.runs[id].Load()) }

// Total returns how many task runs have started in all.
func (c *Control) Total() int { return int(c.started.Load()) }

// Len returns the number of task ids.
func (c *Control) Len() int { return len(c.runs) }

// Run is the body of every probe task.
func (c *Control) Run(ctx context.Context, id int) error {
	c.runs[id].Add(1)
	c.started.Add(1)
	switch Behavior(c.behavior[id].Load()) {
	case Fail:
		return ErrProbe
	case Panic:
		panic(ErrProbe)
	case Block:
		if c.Started != nil {
			c.Started <- id
		}
		select {
		case <-c.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	case Goexit:
		runtime.Goexit()
	}
	return nil
}
