package poolimpl

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/breaker"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// retries is a pool's retry policy (poolrt.Retry) and dead-letter handler
// (poolrt.OnDeadLetter), with its delay queue: failed tasks waiting for
// their next attempt, in a heap by due time served by one time.Timer
// (created at the first retry, stopped at shutdown), then on a ready
// list that workers take from before the queue. No goroutine waits per
// task, and no worker waits for a delay.
//
// While retries are on, QueueSize bounds the tasks accepted and not yet
// ended, queued, running or waiting to retry: a submission takes a
// token (free counts what is left) and the task's final outcome gives it
// back. So a retried task keeps its place, and retries never overrun
// the bound. A nil *retries (the pool has neither option) costs the
// submit and end paths one nil check.
type retries[T any] struct {
	pol  config.RetrySettings
	dead func(T, error, int) // or nil
	// letters: the pool has Retry or OnDeadLetter, so a failed task is
	// dead-lettered. Without (the delay queue only holds the tasks of a
	// breaker that holds them), it fails as in any pool.
	letters bool
	set     *config.Settings
	free    atomic.Int64
	// pending counts the tasks in wait and ready.
	pending atomic.Int64
	wake    func() // wakes a parked worker

	mu     sync.Mutex
	wait   retryHeap[T]
	ready  []retryItem[T]
	timer  *time.Timer
	at     time.Time // when timer fires, if armed
	closed bool      // ShutdownNow took the pending tasks
}

// retryItem is a task waiting for attempt attempt.
type retryItem[T any] struct {
	task    T
	x       *Waiter
	attempt int
	due     time.Time
	held    *breaker.Breaker // a held task's breaker (breaker.go), or nil
}

type retryHeap[T any] []retryItem[T]

func (h retryHeap[T]) Len() int           { return len(h) }
func (h retryHeap[T]) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h retryHeap[T]) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *retryHeap[T]) Push(x any)        { *h = append(*h, x.(retryItem[T])) }
func (h *retryHeap[T]) Pop() any {
	old := *h
	n := len(old) - 1
	it := old[n]
	old[n] = retryItem[T]{}
	*h = old[:n]
	return it
}

// newRetries returns the retries of a pool of T configured by set, nil
// when it has neither a retry policy nor a dead-letter handler, or a
// *poolrt.ConfigError for a handler of another task type.
func newRetries[T any](set *config.Settings, capacity int, wake func()) (*retries[T], error) {
	letters := set.Retry.MaxAttempts != 0 || set.DeadLetter != nil
	if !letters && !set.Breaker.Policy.Hold {
		return nil, nil
	}
	r := &retries[T]{pol: set.Retry, set: set, wake: wake, letters: letters}
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

// push puts it in the delay queue, due in d.
func (r *retries[T]) push(it retryItem[T], d time.Duration) bool {
	now := time.Now()
	it.due = now.Add(d)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return false
	}
	r.pending.Add(1)
	heap.Push(&r.wait, it)
	r.armLocked(now)
	r.mu.Unlock()
	return true
}

// armLocked moves the due tasks to the ready list, waking a worker for
// them, and sets the timer for the next.
func (r *retries[T]) armLocked(now time.Time) {
	woke := false
	for len(r.wait) > 0 && !r.wait[0].due.After(now) {
		r.ready = append(r.ready, heap.Pop(&r.wait).(retryItem[T]))
		woke = true
	}
	if len(r.wait) > 0 {
		next := r.wait[0].due
		if r.at.IsZero() || next.Before(r.at) {
			r.at = next
			if r.timer == nil {
				r.timer = time.AfterFunc(next.Sub(now), r.fire)
			} else {
				r.timer.Reset(next.Sub(now))
			}
		}
	}
	if woke {
		r.wake()
	}
}

// fire is the timer's function.
func (r *retries[T]) fire() {
	r.mu.Lock()
	r.at = time.Time{}
	if !r.closed {
		r.armLocked(time.Now())
	}
	r.mu.Unlock()
}

// hasReady reports whether a retry is due.
func (r *retries[T]) hasReady() bool {
	r.mu.Lock()
	n := len(r.ready)
	r.mu.Unlock()
	return n > 0
}

// take moves a due retry into s and returns its attempt, or 0 if none is
// due.
func (r *retries[T]) take(s *slot[T]) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.ready)
	if n == 0 {
		return 0
	}
	it := r.ready[0]
	copy(r.ready, r.ready[1:])
	r.ready[n-1] = retryItem[T]{}
	r.ready = r.ready[:n-1]
	r.pending.Add(-1)
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
	defer r.mu.Unlock()
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
	}
	for _, it := range append(r.ready, r.wait...) {
		out = append(out, it.task)
		if it.x != nil {
			it.x.finishReturned()
		}
		if it.held != nil {
			it.held.Unhold()
		}
		r.pending.Add(-1)
	}
	r.ready, r.wait = nil, nil
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
