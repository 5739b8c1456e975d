package poolimpl

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// paceWork is how much work, per worker, a fixed pool with the default
// queue lets wait before Submit paces its caller: a slice and a half
// (SliceLen).
//
// A submitter that keeps its CPU busy (a request handler) and queues a
// task runs on while the task waits for a worker; where the kernel gives
// the process fewer CPUs than it has busy threads (a shared or
// overcommitted host), the workers then run on what the submitters leave,
// and at half load the queue's tail was milliseconds, where pools that
// make the submitter wait once their goroutines are busy (errgroup, conc)
// stayed under one. A queue of a few tasks does that too, but loses the
// high load: a submitter that waited for room is readied behind the worker
// that made it, on that worker's P, and runs only at the worker's next
// yield, up to a slice later; a queue holding less than a slice of work
// per worker runs dry meanwhile. More than a slice of work per worker
// covers that wait; the less beyond it, the shorter the half-load tail
// (docs/PERFORMANCE.md, "Pacing the submitter").
const paceWork = 3 * SliceLen / 2

// paceMin is the fewest tasks per worker a paced queue holds: each
// worker's next task, and the one after.
const paceMin = 2

// paceLoad is the offered load, submissions times the tasks' mean run
// time over what the workers can run, at and above which Submit does not
// pace. A paced submitter that is slow to run again once there is room
// (its thread waits for a CPU) leaves the workers without work for that
// long; at moderate load they make it up at once, at high load only
// slowly (at 90% load, an idle spell of the workers takes nine times its
// length to work off), and the queue's tail grows (docs/PERFORMANCE.md,
// "No pacing at high load").
const paceLoad = 0.7

// loadWindow is the least time over which the pacer measures the offered
// load.
const loadWindow = 50 * time.Millisecond

// pacer makes Submit wait, as for a full queue, while the queue holds
// paceWork of work per worker or more (by the tasks' mean run time): it
// counts each shard full at its share of that bound. It is on only in a
// fixed pool whose queue size the user left to the default, with
// OnFull(Block) and run times sampled, without load shedding or retries:
// an explicit QueueSize is a bound the user chose, TrySubmit never waits,
// a dynamic pool grows and a shedding pool refuses on the queue waits that
// pacing would keep short, and a pool with retries bounds its tasks by
// tokens of its own. Nor does it pace while the offered load is high
// (paceLoad, loaded).
//
// A paced Submit waits for room under the bound (the tokens workers pass
// at each start), for its context or for intake to stop, as for room in a
// full queue; or until the pool's stall check finds that no task started
// for a while (timeout): the workers block, or wait for this very
// submitter. Pacing then stops until a task starts, so that a submitter
// the workers wait for is held once, not at every call, and Submit waits
// for a full queue only, as without pacing.
//
// The stall check is one timer for the pool, armed while submitters are
// paced, not one per wait: arming a timer that fires before any other
// wakes the thread that sleeps in the network poller, a system call per
// paced Submit.
type pacer struct {
	on      bool
	workers int64
	cap     int64
	runs    *RunMean
	// stalled is 1 + the count of started tasks when the stall check
	// gave up on the workers, 0 while pacing: pacing resumes once the
	// count has moved.
	stalled atomic.Uint64
	// waiting counts the paced submitters waiting; armed is set while
	// check, the stall check's timer, is; seen is the count of started
	// tasks when it was armed; release is closed to end every wait when
	// the check finds no progress.
	waiting atomic.Int32
	armed   atomic.Bool
	seen    atomic.Uint64
	check   *time.Timer
	release atomic.Pointer[chan struct{}]
	// paced counts the calls that waited (Stats.Paced).
	paced atomic.Uint64
	// since is the clock stamp at which the window over which the load is
	// measured began, 0 before the first; from, the submissions counted
	// then; high, whether the last complete window's load was paceLoad
	// or more: Submit does not pace meanwhile, and load, a timer, measures
	// it again every loadWindow until it is under.
	since atomic.Int64
	from  atomic.Uint64
	high  atomic.Bool
	load  *time.Timer
	last  atomic.Uint64 // the last window's load, as float64 bits
}

// initPace turns pacing on where it applies (see pacer).
func (f *feed[T]) initPace(pattern config.Pattern, workers int) {
	p := &f.pace
	p.on = pattern == config.Fixed && f.set.Given&config.GivenQueue == 0 && f.set.Backpressure == poolrt.Block &&
		f.meter.SampleEvery > 0 && f.shed == nil && f.rt == nil
	if !p.on {
		return
	}
	p.workers, p.cap, p.runs = int64(workers), int64(f.q.capacity), &f.runs
	ch := make(chan struct{})
	p.release.Store(&ch)
	p.check = time.AfterFunc(time.Hour, f.checkStall)
	p.check.Stop()
	p.load = time.AfterFunc(time.Hour, f.checkLoad)
	p.load.Stop()
}

// stopPace stops the stall check of a pool that stops; its paced
// submitters leave as intake closes.
func (f *feed[T]) stopPace() {
	if f.pace.on {
		f.pace.check.Stop()
		f.pace.load.Stop()
	}
}

// bound returns how many accepted, unstarted tasks make Submit pace, or 0
// when it does not: the tasks' run time is not known yet, or paceWork per
// worker holds the whole queue.
func (p *pacer) bound() int64 {
	mean := p.runs.ns.Load()
	if mean == 0 || p.workers*int64(paceWork) >= p.cap*mean {
		return 0
	}
	return p.workers * max(paceMin, int64(paceWork)/mean)
}

// shardBound returns the share of bound each of n shards may hold, 0
// when Submit does not pace.
func (p *pacer) shardBound(n int) uint64 {
	if !p.on || p.high.Load() {
		return 0
	}
	b := p.bound()
	if b == 0 {
		return 0
	}
	return uint64((b + int64(n) - 1) / int64(n))
}

// timeout is how long the workers may start no task before the stall
// check releases the paced submitters: while they run tasks, one starts
// every mean run time or sooner, so twice that and twice paceWork (a
// worker's yield) is long past it.
func (p *pacer) timeout() time.Duration {
	return 2*paceWork + 2*time.Duration(p.runs.ns.Load())
}

// submitPaced is Submit once a push under the pace bound found the queue
// full (see pacer): it waits for room under the bound, and pushes t with
// completion handle x (nil for none). Once the stall check has given up on
// the workers, it leaves t to submitSlow, which waits for a full queue
// only.
func (f *feed[T]) submitPaced(ctx context.Context, t T, x *Waiter) error {
	f.life.BeginWait()
	r, err := f.pushPaced(ctx, t, x)
	f.life.EndWait()
	if err == nil && r == pushFull {
		return f.submitSlow(ctx, t, x, r)
	}
	return err
}

// pushPaced is submitPaced's loop, for a registered waiter (BeginWait). It
// returns pushFull, and no error, when t is to wait for a full queue only.
func (f *feed[T]) pushPaced(ctx context.Context, t T, x *Waiter) (pushResult, error) {
	p := &f.pace
	for counted := false; ; counted = true {
		// Pushed again after BeginWait: a task that started before it
		// passed no token.
		soft := p.shardBound(len(f.q.shards))
		_, started := f.q.depth()
		if s := p.stalled.Load(); s != 0 {
			if s == started+1 {
				soft = 0 // no task started since the check gave up
			} else {
				p.stalled.CompareAndSwap(s, 0)
			}
		}
		if soft != 0 && f.loaded() {
			soft = 0
		}
		switch r := f.q.pushSoft(t, x, soft); {
		case r == pushed:
			f.sleep.Wake()
			f.life.PassRoom()
			return r, nil
		case r == pushClosed:
			return r, poolrt.ErrClosed
		case soft == 0:
			return r, nil
		}
		if !counted {
			p.paced.Add(1)
		}
		if err := f.waitPaced(ctx, started); err != nil {
			return pushFull, err
		}
	}
}

// loaded reports whether the offered load is paceLoad or more (see
// paceLoad): the submissions per unit of time, over a window of at least
// loadWindow that ends now and began when the last one ended, times the
// tasks' mean run time, over the workers. It runs on the paced path, where
// the queue is at the pace bound, so a window spans the time since pacing
// last looked, however long: the load is an average over it. Once it is
// high, Submit no longer takes the paced path (shardBound), and checkLoad
// measures the load every loadWindow instead.
func (f *feed[T]) loaded() bool {
	p := &f.pace
	now := f.meter.Now()
	since := p.since.Load()
	if since == 0 {
		if p.since.CompareAndSwap(0, now) {
			p.from.Store(f.meter.submitted())
		}
		return false
	}
	if now-since < int64(loadWindow) || !p.since.CompareAndSwap(since, now) {
		return p.high.Load() // the window is open, or another submitter closes it
	}
	if !f.measureLoad(since, now) {
		return false
	}
	if !p.high.Swap(true) {
		p.load.Reset(loadWindow)
	}
	return true
}

// checkLoad measures the load again while it is high (see loaded), and
// ends the high-load spell once it is under paceLoad.
func (f *feed[T]) checkLoad() {
	p := &f.pace
	now := f.meter.Now()
	if f.measureLoad(p.since.Swap(now), now) && f.life.State() == Open {
		p.load.Reset(loadWindow)
		return
	}
	p.high.Store(false)
}

// measureLoad reports whether the load of the window from since to now,
// averaged with the last window's, was paceLoad or more, and starts the
// next window's count. The average keeps a single window in which the
// submitters caught up after a stall from turning pacing off: that is
// when a moderately loaded pool needs it.
func (f *feed[T]) measureLoad(since, now int64) bool {
	p := &f.pace
	if now <= since {
		return p.high.Load() // an empty window: no news
	}
	sub := f.meter.submitted()
	n := sub - p.from.Swap(sub)
	// n tasks of the mean run time over workers × the window's length.
	load := float64(n) * float64(p.runs.ns.Load()) / (float64(p.workers) * float64(now-since))
	last := math.Float64frombits(p.last.Swap(math.Float64bits(load)))
	if last == 0 {
		last = load // the first window
	}
	return (last+load)/2 >= paceLoad
}

// waitPaced waits for a token of room, the stall check's release, ctx or
// the end of intake; started is the count of started tasks as the caller
// last saw it.
func (f *feed[T]) waitPaced(ctx context.Context, started uint64) error {
	p := &f.pace
	p.waiting.Add(1)
	defer p.waiting.Add(-1)
	// release before arming: a check that finds no progress disarms
	// before it closes release, so this wait either holds the channel it
	// closes or arms the next check.
	release := *p.release.Load()
	if p.armed.CompareAndSwap(false, true) {
		p.seen.Store(started)
		p.check.Reset(p.timeout())
	}
	select {
	case <-f.life.room:
		return nil
	case <-release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-f.life.closing:
		return poolrt.ErrClosed
	}
}

// checkStall is the stall check (see pacer): it runs when the timer
// armed by a paced submitter fires. If no task started since, it releases
// every paced submitter and stops pacing until one does. It stays armed
// while submitters are paced.
func (f *feed[T]) checkStall() {
	p := &f.pace
	_, started := f.q.depth()
	if p.waiting.Load() > 0 && started == p.seen.Load() {
		p.stalled.Store(started + 1)
		p.armed.Store(false)
		ch := make(chan struct{})
		close(*p.release.Swap(&ch))
	}
	p.armed.Store(false)
	// A submitter that began to wait after the load above saw the check
	// armed and did not arm it: arm it for that submitter.
	if p.waiting.Load() > 0 && f.life.State() == Open && p.armed.CompareAndSwap(false, true) {
		p.seen.Store(started)
		p.check.Reset(p.timeout())
	}
}
