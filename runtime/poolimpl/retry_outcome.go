package poolimpl

// retryOutcome ends a task that ran attempt times and returned err (not a
// panic) in a pool with retries rt: it succeeded, goes to the delay
// queue for another attempt (keep is what rt keeps of it, t the task in
// keep, x its completion handle, which travels with it), or failed for
// good (settle). It reports whether the task was scheduled again.
func retryOutcome[T, S any](rt *retries[S], m *Meter, wm *WorkerMeter, hooks *taskHooks[T],
	keep *S, t *T, x *Waiter, attempt int, err error, hooking *bool, ended func()) bool {
	if err != nil && rt.retryable(err, attempt) && rt.schedule(*keep, x, attempt+1) {
		wm.Other.Add(1)
		m.retries.Add(1)
		return true
	}
	settle(rt, m, wm, hooks, keep, t, x, attempt, err, hooking, ended)
	return false
}

// settle ends a task for good in a pool with retries or dead letters
// rt, after attempt runs, the last of which returned err. Every engine
// with retries ends a task's last attempt here. It counts the outcome in
// m and the worker's wm (Completed, or DeadLettered: not in Completed or
// Failed); then ended runs, which gives the task's token back (after the
// count, so that a Shutdown that waits for the tokens finds it counted);
// then the task's waiting submitter (x, or nil) has the outcome, and a
// failure is reported: to the dead-letter handler (with keep, what rt
// keeps of the task), or, when the submitter has not had it, to
// OnTaskError or OnError (or any failure hook when the pool has only a
// breaker that holds tasks, and no dead letters), else to the log.
// hooking is set while a user hook runs (see the engines' workerExit).
func settle[T, S any](rt *retries[S], m *Meter, wm *WorkerMeter, hooks *taskHooks[T],
	keep *S, t *T, x *Waiter, attempt int, err error, hooking *bool, ended func()) {
	if err == nil || !rt.letters {
		wm.Done(err)
		if err == nil && attempt > 1 {
			m.retrySucceeded.Add(1)
		}
	} else {
		wm.Other.Add(1)
		m.deadLettered.Add(1)
	}
	ended()
	waited := x != nil && x.finish(err) // the submitter has the outcome
	if err == nil {
		return
	}
	*hooking = true
	if rt.letters {
		reportLast(rt.dead, keep, hooks, t, err, attempt, waited)
	} else if !waited {
		hooks.failed(t, err)
	}
	*hooking = false
}

// reportLast reports task t (kept as keep), which failed for good with err
// after attempt runs in a pool with dead letters: to the dead-letter
// handler dead, if set; else, unless its submitter has had the error
// (waited), to OnTaskError or OnError, if set, else to the log.
func reportLast[T, S any](dead func(S, error, int), keep *S, hooks *taskHooks[T], t *T, err error, attempt int, waited bool) {
	switch {
	case dead != nil:
		hooks.set.CallHook("OnDeadLetter", func() { dead(*keep, err, attempt) })
	case waited:
	case hooks.onError != nil || hooks.set.OnError != nil:
		hooks.failed(t, err)
	default:
		hooks.set.DeadLettered(*t, err, attempt)
	}
}

// callerEnded counts the outcome err (not a panic) of task t, which its
// submitter ran (CallerRuns), and reports a failure; waited: the
// submitter waits for the outcome (SubmitWait) and has it. Such a task is
// never retried, so in a pool with dead letters its failure is its last:
// it is dead-lettered after its one run, as a worker's last attempt is
// (settle), and counted in DeadLettered, not in Completed or Failed.
func (h *taskHooks[T]) callerEnded(m *Meter, t *T, err error, waited bool) {
	if err == nil || !h.set.Letters() {
		m.CallerDone(err, false)
		if err != nil && !waited {
			h.failed(t, err)
		}
		return
	}
	m.deadLettered.Add(1)
	dead, _ := h.set.DeadLetter.(func(T, error, int)) // checked when the pool was made
	reportLast(dead, t, h, t, err, 1, waited)
}
