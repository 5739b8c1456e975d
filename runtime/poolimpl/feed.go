package poolimpl

import (
	"context"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// feed is what the pools that keep submitted tasks in the sharded queue
// share: the queue, the lifecycle that submitters wait on for room, the
// parked workers they wake, the metrics and the settings, and the
// submission paths over them with the backpressure policies. The fixed
// and dynamic pools' engine and the work-stealing pool (whose injector it
// is) embed it.
type feed[T any] struct {
	life  Lifecycle
	q     queue[T]
	sleep *Sleepers
	// hand, when set (the engine's handTo), gives a task straight to a
	// parked worker, if there is one, and reports whether it did.
	hand  func(T) bool
	meter *Meter
	set   config.Settings
	// nilable: T is a pointer type, and a nil task is refused.
	nilable bool
	// lane runs the tasks: the code that knows T.
	lane Lane[T]
	// hooks report failures and panics.
	hooks taskHooks[T]
	// timeouts are the tasks' timeouts (poolrt.TaskTimeout).
	timeouts timeouts[T]
	// rt is the retry policy and dead letters, nil when off.
	rt *retries[T]
	// shed is the load shedding controller, nil when off.
	shed *Shedder
	// runs is the mean of the tasks' sampled run times: it sizes the
	// batches workers take (poolrt.BatchBudget) and paces Submit.
	runs RunMean
	// pace makes Submit wait while the workers are behind (see pacer).
	pace pacer
}

// initFeed prepares a feed of a pool of pattern for up to slots workers,
// workers of which start now (they size the queue's batches; see
// queue.setWorkers). It fails only for a name in use, before any worker
// starts.
func (f *feed[T]) initFeed(set config.Settings, pattern config.Pattern, slots, workers int, lane Lane[T]) error {
	f.set, f.lane = set, lane
	f.timeouts = timeouts[T]{def: set.TaskTimeout, of: lane.Timeout}
	var err error
	if f.hooks, err = resolveHooks[T](&f.set); err != nil {
		return err
	}
	f.meter = NewMeter(&f.set, slots, set.Shards)
	f.sleep = NewSleepers(slots)
	f.q.init(&f.set, workers, f.meter)
	f.shed = f.meter.shedder(&f.set, &f.life, set.QueueSize, f.q.spread)
	f.q.shed = f.shed
	if f.rt, err = newRetries[T](&f.set, set.QueueSize, f.sleep.Wake); err != nil {
		return err
	}
	f.initPace(pattern, workers)
	f.life.Init(0)
	f.nilable = Nilable[T]()
	return f.life.Reserve(&f.set, pattern, taskName[T]())
}

// submit queues t and wakes a parked worker, if any, even while another
// worker is looking for work. A looking worker is not a running one: it
// yields its P between looks and may wait in a run queue, or its thread
// may be stopped, and the task would wait for it while a parked worker
// could run it. In the work-stealing pool, skipping the wake-up then (the
// rule of Go's scheduler for its spinning threads, which that pool keeps
// for forks: see StealingPool.wake) kept the median P99 of 20 µs tasks at
// 27.5k/s on 2 vCPUs at 3.8 ms over 20 rounds, against 0.5 ms with it.
func (f *feed[T]) submit(ctx context.Context, t T) error {
	if f.set.Propagate != config.PropagateNone {
		// t carries ctx through the queue in a completion handle that no
		// one waits for: the worker that ends t recycles it.
		_, err := f.submitWaited(ctx, t, false)
		return err
	}
	if f.nilable && IsNil(&t) {
		return poolrt.ErrNilTask
	}
	if f.shed != nil && f.shed.Refuse(0) {
		return poolrt.ErrOverloaded
	}
	if f.rt != nil {
		return f.submitSlow(ctx, t, nil, pushFull)
	}
	if f.handed(t) {
		return nil
	}
	soft := f.pace.shardBound(len(f.q.shards))
	r := f.q.pushSoft(t, nil, soft)
	if r == pushed {
		f.sleep.Wake()
		return nil
	}
	if r == pushFull && soft > 0 {
		return f.submitPaced(ctx, t, nil)
	}
	return f.submitSlow(ctx, t, nil, r)
}

// submitWaited queues t with a completion handle, as submit would, and
// returns the handle to wait on (Waiter.wait) if wait is set. It returns
// a nil handle and the outcome when there is nothing to wait for: the
// task was refused (the error submit would return), or CallerRuns ran it
// here because the queue was full (what it returned, or its
// *poolrt.PanicError). Without wait, the handle only carries ctx to the
// worker (poolrt.PropagateContext): it is abandoned from the start, the
// worker that ends t recycles it, and t's outcome is the hooks', as for
// submit.
func (f *feed[T]) submitWaited(ctx context.Context, t T, wait bool) (*Waiter, error) {
	if f.nilable && IsNil(&t) {
		return nil, poolrt.ErrNilTask
	}
	if f.shed != nil && f.shed.Refuse(0) {
		return nil, poolrt.ErrOverloaded
	}
	x := f.life.Waiter()
	if f.set.Propagate != config.PropagateNone {
		x.ctx = ctx
	}
	if !wait {
		x.state.Store(waiterAbandoned)
	}
	r, soft := pushFull, uint64(0)
	if f.rt == nil {
		soft = f.pace.shardBound(len(f.q.shards))
		r = f.q.pushSoft(t, x, soft)
	} else if f.rt.acquire() {
		if r = f.q.pushWaited(t, x); r != pushed {
			f.rt.release()
		}
	}
	if r == pushed {
		f.sleep.Wake()
		return handle(x, wait), nil // x is the worker's now, unless waited for
	}
	if r == pushFull && soft > 0 {
		if err := f.submitPaced(ctx, t, x); err != nil {
			x.cancel()
			return nil, err
		}
		return handle(x, wait), nil
	}
	if r != pushClosed && f.life.State() == Open && f.set.Backpressure == poolrt.CallerRuns {
		x.cancel()
		f.meter.Shards[RandN(len(f.meter.Shards))].CallerRuns.Add(1)
		return nil, runOnSubmitter(f.life.Context(), ctx, f.set.Propagate, t, wait, f.lane.One, &f.hooks, f.meter, &f.timeouts)
	}
	if err := f.submitSlow(ctx, t, x, r); err != nil {
		x.cancel()
		return nil, err
	}
	return handle(x, wait), nil
}

// handle returns x, just queued, to its submitter if it waits for it;
// else nil: x may be recycled already.
func handle(x *Waiter, wait bool) *Waiter {
	if wait {
		return x
	}
	return nil
}

// submitWait is SubmitWait: submitWaited, then the wait.
func (f *feed[T]) submitWait(ctx context.Context, t T) error {
	x, err := f.submitWaited(ctx, t, true)
	if x == nil {
		return err
	}
	return x.wait(ctx)
}

// trySubmit queues t if there is room and never blocks.
func (f *feed[T]) trySubmit(t T) error {
	if f.nilable && IsNil(&t) {
		return poolrt.ErrNilTask
	}
	if f.shed != nil && f.shed.Refuse(0) {
		return poolrt.ErrOverloaded
	}
	if f.rt == nil && f.handed(t) {
		return nil
	}
	switch f.pushCounted(t, nil) {
	case pushed:
		f.sleep.Wake()
		return nil
	case pushClosed:
		return poolrt.ErrClosed
	}
	if f.life.State() != Open {
		return poolrt.ErrClosed
	}
	f.meter.Shards[RandN(len(f.meter.Shards))].Rejected.Add(1)
	return poolrt.ErrQueueFull
}

// submitSlow is submit once the queue was full or closed (r): it applies
// the backpressure policy. x is the task's completion handle, or nil; a
// caller with one has dealt with CallerRuns itself.
func (f *feed[T]) submitSlow(ctx context.Context, t T, x *Waiter, r pushResult) error {
	if f.rt != nil && r == pushFull && x == nil {
		// submit leaves the token to this path: try once more with it.
		if r = f.pushCounted(t, nil); r == pushed {
			f.sleep.Wake()
			return nil
		}
	}
	if r == pushClosed || f.life.State() != Open {
		return poolrt.ErrClosed
	}
	switch f.set.Backpressure {
	case poolrt.Reject:
		f.meter.Shards[RandN(len(f.meter.Shards))].Rejected.Add(1)
		return poolrt.ErrQueueFull
	case poolrt.CallerRuns:
		f.meter.Shards[RandN(len(f.meter.Shards))].CallerRuns.Add(1)
		RunOnCaller(f.life.Context(), t, f.lane.One, &f.hooks, f.meter, &f.timeouts)
		return nil
	}
	f.life.BeginWait()
	defer f.life.EndWait()
	for {
		switch f.pushCounted(t, x) {
		case pushed:
			f.sleep.Wake()
			f.life.PassRoom()
			return nil
		case pushClosed:
			return poolrt.ErrClosed
		}
		if err := f.life.WaitRoom(ctx); err != nil {
			return err
		}
	}
}

// handed gives t to a parked worker if the pool has one and hands tasks
// over (hand), and reports whether it did. The caller has done every
// check a task passes before it is queued; t has no completion handle
// and no retries.
func (f *feed[T]) handed(t T) bool {
	return f.hand != nil && f.sleep.Parked() > 0 && f.hand(t)
}

// pushCounted is q.pushWaited for a pool whose tasks hold a token while
// in flight (retries): it pushes only with a token, as if the queue were
// full without one.
func (f *feed[T]) pushCounted(t T, x *Waiter) pushResult {
	if f.rt == nil {
		return f.q.pushWaited(t, x)
	}
	if !f.rt.acquire() {
		if f.life.State() != Open {
			return pushClosed
		}
		return pushFull
	}
	r := f.q.pushWaited(t, x)
	if r != pushed {
		f.rt.release()
	}
	return r
}

// retrying reports whether tasks wait in the delay queue.
func (f *feed[T]) retrying() bool { return f.rt != nil && f.rt.pending.Load() > 0 }
