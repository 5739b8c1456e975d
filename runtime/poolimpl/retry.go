package poolimpl

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/breaker"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// retries is a pool's retry policy (poolrt.Retry) and dead-letter handler
// (poolrt.OnDeadLetter), with its delay queue (delay.go): failed tasks
// waiting for their next attempt, in a heap by due time served by one
// time.Timer (created at the first retry, stopped at shutdown), then on
// a ready list that workers take from before the queue. No goroutine
// waits per task, and no worker waits for a delay.
//
// While retries are on, QueueSize bounds the tasks accepted and not yet
// ended, queued, running or waiting to retry: a submission takes a
// token (free counts what is left) and the task's final outcome gives it
// back. So a retried task keeps its place, and retries never overrun
// the bound. A nil *retries (the pool has neither option) costs the
// submit and end paths one nil check.
type retries[T any] struct {
	// delayQueue's wake wakes a parked worker; its pending counts the
	// tasks waiting or due.
	delayQueue[T]
	pol  config.RetrySettings
	dead func(T, error, int) // or nil
	// letters: the pool has Retry or OnDeadLetter, so a failed task is
	// dead-lettered. Without (the delay queue only holds the tasks of a
	// breaker that holds them), it fails as in any pool.
	letters bool
	set     *config.Settings
	free    atomic.Int64
}

// retryItem is a task waiting for attempt attempt.
type retryItem[T any] = delayItem[T]

// newRetries returns the retries of a pool of T configured by set, nil
// when it has neither a retry policy nor a dead-letter handler, or a
// *poolrt.ConfigError for a handler of another task type.
func newRetries[T any](set *config.Settings, capacity int, wake func()) (*retries[T], error) {
	letters := set.Letters()
	if !letters && !set.Breaker.Policy.Hold {
		return nil, nil
	}
	r := &retries[T]{pol: set.Retry, set: set, letters: letters}
	r.wake = wake
	if r.pol.MaxAttempts == 0 {
		r.pol.MaxAttempts = 1
	}
	if set.DeadLetter != nil {
		f, ok := set.DeadLetter.(func(T, error, int))
		if !ok {
			return nil, hookTypeError[T]("OnDeadLetter", set.DeadLetter)
		}
		r.dead = f
	}
	r.free.Store(int64(capacity))
	return r, nil
}

// acquire takes a token for a new task, reporting false when QueueSize
// tasks are in flight.
func (r *retries[T]) acquire() bool {
	if r.free.Add(-1) >= 0 {
		return true
	}
	r.free.Add(1)
	return false
}

// release gives a token back: a task ended for good.
func (r *retries[T]) release() { r.free.Add(1) }

// backoff returns the delay before retry n (1-based): uniform in
// [0, min(Max, Initial·Multiplier^(n-1))].
func backoff(pol *config.RetrySettings, n int) time.Duration {
	c := float64(pol.Initial) * math.Pow(pol.Multiplier, float64(n-1))
	limit := pol.Max
	if c < float64(limit) {
		limit = time.Duration(c)
	}
	return time.Duration(rand.Int64N(int64(limit) + 1))
}

// retryable reports whether a task that ran attempt times and returned
// err runs again.
func (r *retries[T]) retryable(err error, attempt int) bool {
	if attempt >= r.pol.MaxAttempts || poolrt.IsPermanent(err) {
		return false
	}
	return r.pol.Retryable == nil || r.pol.Retryable(err)
}

// schedule puts t, with its completion handle x, in the delay queue for
// attempt attempt; false if ShutdownNow has taken the pending tasks.
func (r *retries[T]) schedule(t T, x *Waiter, attempt int) bool {
	return r.push(retryItem[T]{task: t, x: x, attempt: attempt}, backoff(&r.pol, attempt-1))
}

// hold puts t, with its completion handle x, which its breaker b
// refused, in the delay queue until b may let it through, for the same
// attempt; false if b holds as many tasks as it may, or ShutdownNow has
// taken the pending tasks.
func (r *retries[T]) hold(t T, x *Waiter, attempt int, b *breaker.Breaker) bool {
	if !b.Hold() {
		return false
	}
	if !r.push(retryItem[T]{task: t, x: x, attempt: attempt, held: b}, b.Wait()) {
		b.Unhold()
		return false
	}
	return true
}

// take moves a due retry into s and returns its attempt, or 0 if none is
// due.
func (r *retries[T]) take(s *slot[T]) int {
	r.mu.Lock()
	it, ok := r.popReadyLocked()
	r.mu.Unlock()
	if !ok {
		return 0
	}
	if it.held != nil {
		it.held.Unhold()
	}
	*s = slot[T]{task: it.task, x: it.x}
	return it.attempt
}

// drain stops the timer and appends the pending tasks to out, telling
// their waiters that they were handed back.
func (r *retries[T]) drain(out []T) []T {
	r.mu.Lock()
	items := r.closeLocked()
	r.mu.Unlock()
	for _, it := range items {
		out = append(out, it.task)
		if it.x != nil {
			it.x.finishReturned()
		}
		if it.held != nil {
			it.held.Unhold()
		}
	}
	return out
}

// deadLetter hands t, which ran attempts times and last returned err, to
// the dead-letter handler, or logs it.
func (r *retries[T]) deadLetter(t *T, err error, attempts int) {
	if r.dead != nil {
		r.set.CallHook("OnDeadLetter", func() { r.dead(*t, err, attempts) })
		return
	}
	r.set.DeadLettered(*t, err, attempts)
}
