package poolimpl

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

type ctxKey struct{}

// TestTaskCtx: a worker's reusable timeout context ends at the running
// task's deadline, not at a later task's; it gets a fresh Done channel
// after one closed; it ends for good with the pool's context.
func TestTaskCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parent, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
		c := newTaskCtx(parent)
		if c.Value(ctxKey{}) != "v" {
			t.Error("Value does not reach the pool's context")
		}

		c.begin(time.Second, 1, nil, false)
		if dl, ok := c.Deadline(); !ok || !dl.Equal(time.Now().Add(time.Second)) {
			t.Errorf("Deadline() = %v, %v; want a second from now", dl, ok)
		}
		done := c.Done()
		start := time.Now()
		<-done
		if time.Since(start) != time.Second || !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Errorf("ended after %v with %v; want 1s, DeadlineExceeded", time.Since(start), c.Err())
		}
		err, to := c.end(errors.New("x"))
		if !to || !errors.Is(err, context.DeadlineExceeded) || err.Error() != "poolgen: task timed out: x" {
			t.Errorf("end = %v, %v", err, to)
		}

		// The next task, without a timeout, gets a fresh channel that
		// stays open.
		c.begin(0, 1, nil, false)
		if c.Done() == done {
			t.Error("the closed channel is reused")
		}
		if _, ok := c.Deadline(); ok || c.Err() != nil {
			t.Error("a task without a timeout has a deadline or an error")
		}
		if err, to := c.end(nil); err != nil || to {
			t.Errorf("end(nil) = %v, %v", err, to)
		}

		// A task that ends in time: its timer, even if it fired late,
		// does not end the next task, whose deadline is later.
		c.begin(time.Second, 1, nil, false)
		if err, to := c.end(nil); err != nil || to {
			t.Errorf("end(nil) = %v, %v", err, to)
		}
		c.begin(2*time.Second, 1, nil, false)
		c.expire() // a late fire for the task before
		if c.Err() != nil {
			t.Error("a stale timer ended the next task")
		}
		// An error in time is the task's own.
		own := errors.New("own")
		if err, to := c.end(own); err != own || to {
			t.Errorf("end(own) = %v, %v", err, to)
		}

		// The pool's context ends every task, now and later.
		c.begin(time.Hour, 1, nil, false)
		cancel()
		<-c.Done()
		if !errors.Is(c.Err(), context.Canceled) {
			t.Errorf("Err() = %v after the pool's context ended", c.Err())
		}
		if err, to := c.end(context.Canceled); to || err != context.Canceled {
			t.Errorf("a canceled task reported as timed out: %v, %v", err, to)
		}
		c.begin(time.Hour, 1, nil, false)
		if c.Err() == nil {
			t.Error("a task started after the pool's context ended has a live context")
		}
		c.end(nil)
	})
}

// TestTimedOut: the error of a task that timed out wraps
// context.DeadlineExceeded, whatever it returned.
func TestTimedOut(t *testing.T) {
	own := errors.New("own")
	for _, c := range []struct {
		err     error
		expired bool
		want    bool
	}{
		{nil, true, false},
		{own, false, false},
		{own, true, true},
		{context.DeadlineExceeded, true, true},
	} {
		err, to := timedOut(c.err, c.expired)
		if to != c.want {
			t.Errorf("timedOut(%v, %v) = %v", c.err, c.expired, to)
		}
		if to && (!errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, c.err)) {
			t.Errorf("timedOut(%v) = %v: not both DeadlineExceeded and the task's error", c.err, err)
		}
	}
}

// TestCallerCtx: off the workers a task gets a context.WithTimeout with
// its timeout, and none when it has none.
func TestCallerCtx(t *testing.T) {
	ctx := context.Background()
	var off timeouts[int]
	if off.on() {
		t.Error("a pool without timeouts has them on")
	}
	own := timeouts[int64]{of: func(p *int64) time.Duration { return time.Duration(*p) }}
	zero := int64(0)
	if c, cancel := own.callerCtx(ctx, zero); c != ctx {
		t.Error("a task without a timeout got one")
	} else {
		cancel()
	}
	hour := int64(time.Hour)
	c, cancel := own.callerCtx(ctx, hour)
	defer cancel()
	if dl, ok := c.Deadline(); !ok || time.Until(dl) > time.Hour {
		t.Errorf("Deadline() = %v, %v", dl, ok)
	}
	def := timeouts[int64]{def: time.Minute, of: own.of}
	if got := def.get(&zero); got != time.Minute {
		t.Errorf("get = %v; want the pool's default", got)
	}
	if got := def.get(&hour); got != time.Hour {
		t.Errorf("get = %v; want the task's own", got)
	}
}
