package poolimpl

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/breaker"
)

// delayQueue holds items until their due time: a heap by due time (equal
// due times in arrival order) served by one time.Timer, created at the
// first push and stopped by close, and a ready list of the due items. No
// goroutine waits per item. When items become due, wake is called with
// mu held: it must not block. Both a pool's retries (retry.go) and its
// scheduled tasks (sched.go) wait in one.
type delayQueue[T any] struct {
	// pending counts the items in wait and ready.
	pending atomic.Int64
	wake    func() // called, under mu, when items became due

	mu     sync.Mutex
	wait   delayHeap[T]
	ready  []delayItem[T]
	timer  *time.Timer
	at     time.Time // when timer fires, if armed
	seq    uint64    // arrivals, for the order of equal due times
	closed bool      // close took the items
}

// delayItem is an item of a delayQueue: a task, with its completion
// handle x, waiting for attempt attempt (retries), or for its scheduled
// time (attempt 0).
type delayItem[T any] struct {
	task    T
	x       *Waiter
	attempt int
	due     time.Time
	seq     uint64
	held    *breaker.Breaker // a held task's breaker (breaker.go), or nil
}

// delayHeap is a min-heap by due time, then arrival. It is not a
// container/heap.Interface, whose Push and Pop box each item: pushing
// allocates nothing once the slice has grown.
type delayHeap[T any] []delayItem[T]

func (h delayHeap[T]) less(i, j int) bool {
	if h[i].due.Equal(h[j].due) {
		return h[i].seq < h[j].seq
	}
	return h[i].due.Before(h[j].due)
}

// push adds it.
func (h *delayHeap[T]) push(it delayItem[T]) {
	*h = append(*h, it)
	q := *h
	for i := len(q) - 1; i > 0; {
		parent := (i - 1) / 2
		if !q.less(i, parent) {
			break
		}
		q[i], q[parent] = q[parent], q[i]
		i = parent
	}
}

// pop removes and returns the first item of a heap that has one.
func (h *delayHeap[T]) pop() delayItem[T] {
	q := *h
	n := len(q) - 1
	it := q[0]
	q[0] = q[n]
	q[n] = delayItem[T]{}
	q = q[:n]
	for i := 0; ; {
		small := i
		if l := 2*i + 1; l < n && q.less(l, small) {
			small = l
		}
		if r := 2*i + 2; r < n && q.less(r, small) {
			small = r
		}
		if small == i {
			break
		}
		q[i], q[small] = q[small], q[i]
		i = small
	}
	*h = q
	return it
}

// push puts it in the queue, due in d; false if close has taken the
// items.
func (q *delayQueue[T]) push(it delayItem[T], d time.Duration) bool {
	now := time.Now()
	it.due = now.Add(d)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.pushLocked(it, now)
	return true
}

// pushLocked puts it, with its due time set, in the open queue.
func (q *delayQueue[T]) pushLocked(it delayItem[T], now time.Time) {
	q.seq++
	it.seq = q.seq
	q.pending.Add(1)
	q.wait.push(it)
	q.armLocked(now)
}

// armLocked moves the due items to the ready list, waking their taker,
// and sets the timer for the next.
func (q *delayQueue[T]) armLocked(now time.Time) {
	woke := false
	for len(q.wait) > 0 && !q.wait[0].due.After(now) {
		q.ready = append(q.ready, q.wait.pop())
		woke = true
	}
	if len(q.wait) > 0 {
		next := q.wait[0].due
		if q.at.IsZero() || next.Before(q.at) {
			q.at = next
			if q.timer == nil {
				q.timer = time.AfterFunc(next.Sub(now), q.fire)
			} else {
				q.timer.Reset(next.Sub(now))
			}
		}
	}
	if woke {
		q.wake()
	}
}

// fire is the timer's function.
func (q *delayQueue[T]) fire() {
	q.mu.Lock()
	q.at = time.Time{}
	if !q.closed {
		q.armLocked(time.Now())
	}
	q.mu.Unlock()
}

// hasReady reports whether an item is due.
func (q *delayQueue[T]) hasReady() bool {
	q.mu.Lock()
	n := len(q.ready)
	q.mu.Unlock()
	return n > 0
}

// popReadyLocked removes and returns the oldest due item; false if none
// is due.
func (q *delayQueue[T]) popReadyLocked() (delayItem[T], bool) {
	n := len(q.ready)
	if n == 0 {
		return delayItem[T]{}, false
	}
	it := q.ready[0]
	copy(q.ready, q.ready[1:])
	q.ready[n-1] = delayItem[T]{}
	q.ready = q.ready[:n-1]
	q.pending.Add(-1)
	return it, true
}

// closeLocked closes the queue, stops its timer and returns its items,
// the due ones first, then the others by due time.
func (q *delayQueue[T]) closeLocked() []delayItem[T] {
	q.closed = true
	if q.timer != nil {
		q.timer.Stop()
	}
	slices.SortFunc(q.wait, func(a, b delayItem[T]) int {
		if c := a.due.Compare(b.due); c != 0 {
			return c
		}
		return int(a.seq - b.seq)
	})
	items := append(q.ready, q.wait...)
	q.pending.Add(-int64(len(items)))
	q.ready, q.wait = nil, nil
	return items
}
