package poolimpl

import (
	"sync"
	"sync/atomic"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// This file holds what the engines share for retries, dead letters and
// held tasks (retries, retry.go), and the idle loop of the locked
// engines (Rank, Fair), whose workers take one task at a time under the
// pool's lock.

// newRetriesOf returns the retries of a pool of T, configured by set,
// that keeps a task waiting to retry as an S: the task and what the pool
// noted of it, which task reads the task from. Like newRetries, it
// returns nil when the pool has neither a retry policy, nor a
// dead-letter handler, nor a breaker that holds tasks, and a
// *poolrt.ConfigError for a handler of another task type than T.
func newRetriesOf[T, S any](set *config.Settings, capacity int, wake func(), task func(*S) *T) (*retries[S], error) {
	if h := set.DeadLetter; h != nil {
		f, ok := h.(func(T, error, int))
		if !ok {
			return nil, hookTypeError[T]("OnDeadLetter", h)
		}
		// newRetries takes the handler of an S: one that hands the task
		// on. The pool's other readers of set (its breaker gate) have
		// read it already; it is put back before returning.
		set.DeadLetter = func(s S, err error, attempts int) { f(*task(&s), err, attempts) }
		defer func() { set.DeadLetter = h }()
	}
	return newRetries[S](set, capacity, wake)
}

// lockedQueue is a locked engine's queue and retries as lookFor sees
// them.
type lockedQueue[S any] struct {
	size *atomic.Int32
	rt   *retries[S]
}

func (q lockedQueue[S]) queued() bool { return waitingLocked(q.size, q.rt) }

func (q lockedQueue[S]) spent() bool { return !waitingLocked(q.size, q.rt) && !retrying(q.rt) }

// idleLocked waits until there may be work for worker id of a locked
// engine (Rank, Fair), whose queue holds size tasks and whose retries
// are rt (nil when off). It reports false when the worker should exit:
// the pool is stopped, or draining with nothing left, not even a task to
// retry. A worker whose last task ran for a slice or longer parks at once
// (Slice.Looks).
func idleLocked[S any](life *Lifecycle, sleep *Sleepers, clock *config.Clock, sl *Slice, id int, size *atomic.Int32, rt *retries[S]) bool {
	looks := sl.Looks(clock)
	sl.Reset()
	if decided, goOn := lookFor(sleep, looks, life, lockedQueue[S]{size, rt}, clock); decided {
		return goOn
	}
	sleep.Register(id)
	// Look again after registering: a submitter that pushed before seeing
	// us parked did not wake anyone, and a Stop that woke the parked
	// workers before we registered did not wake us.
	if st := life.State(); st == Stopped || st == Draining && !retrying(rt) || waitingLocked(size, rt) {
		if !sleep.Cancel(id) {
			sleep.Wait(id) // a wake-up is already on its way; consume it
		}
		st := life.State()
		return st == Open || st == Draining && (waitingLocked(size, rt) || retrying(rt))
	}
	sleep.Wait(id)
	return true
}

// waitingLocked reports whether a task waits for a worker of a locked
// engine whose queue holds size tasks: queued, or a retry that is due.
func waitingLocked[S any](size *atomic.Int32, rt *retries[S]) bool {
	return size.Load() > 0 || rt != nil && rt.hasReady()
}

// retrying reports whether tasks wait in the delay queue of rt, if any.
func retrying[S any](rt *retries[S]) bool { return rt != nil && rt.pending.Load() > 0 }

// requeueDue hands each retry of rt that is due back to its pool: place,
// called under mu, queues it by the pool's own order with its attempt
// number. A retry holds its token all along, so the pool has room.
func requeueDue[S any](rt *retries[S], mu *sync.Mutex, place func(s *slot[S], attempt int)) {
	if rt.pending.Load() == 0 {
		return
	}
	var s slot[S]
	for {
		attempt := rt.take(&s)
		if attempt == 0 {
			return
		}
		mu.Lock()
		place(&s, attempt)
		mu.Unlock()
		s = slot[S]{}
	}
}

// endedLocked gives back to rt the token of a task of a locked engine
// that reached its final outcome, admitting a blocked submitter with it
// if one waits (admit, called under mu, queues its task and reports
// whether it did), then wakes the parked workers of a draining pool.
func endedLocked[S any](rt *retries[S], mu *sync.Mutex, admit func() bool, sleep *Sleepers, life *Lifecycle) {
	rt.release()
	mu.Lock()
	admitted := admit()
	mu.Unlock()
	if admitted {
		sleep.Wake()
	}
	drainedLocked(sleep, life)
}

// drainedLocked wakes the parked workers of a draining locked engine,
// which may wait for retries that are no longer to come.
func drainedLocked(sleep *Sleepers, life *Lifecycle) {
	if life.State() == Draining {
		sleep.WakeAll()
	}
}
