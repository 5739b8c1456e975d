package poolimpl

// settle ends t, which ran attempt times and last returned err, for good
// in a pool with retries or dead letters: it counts the outcome in m and
// the worker's wm (Completed, or DeadLettered: not in Completed or
// Failed), gives it to t's waiting submitter (x, or nil), and reports a
// failure: to the dead-letter handler, or, when the submitter has not
// had it, to OnTaskError or OnError (or any failure hook when the pool
// has only a breaker that holds tasks, and no dead letters), else to the
// log. Every engine with retries ends a task's last attempt here; its
// caller gives the task's token back and guards the hooks against
// runtime.Goexit.
func (r *retries[T]) settle(t *T, x *Waiter, err error, attempt int, m *Meter, wm *WorkerMeter, h *taskHooks[T]) {
	if err == nil || !r.letters {
		wm.Done(err)
		if err == nil && attempt > 1 {
			m.retrySucceeded.Add(1)
		}
	} else {
		wm.Other.Add(1)
		m.deadLettered.Add(1)
	}
	waited := x != nil && x.finish(err) // the submitter has the outcome
	if err == nil || waited && r.dead == nil {
		return
	}
	switch {
	case r.dead != nil:
		r.deadLetter(t, err, attempt)
	case !r.letters || h.onError != nil || r.set.OnError != nil:
		h.failed(t, err)
	default:
		r.set.DeadLettered(*t, err, attempt)
	}
}
