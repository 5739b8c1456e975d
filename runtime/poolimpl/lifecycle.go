package poolimpl

import (
	"context"
	"sync"
	"sync/atomic"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// State is a pool's lifecycle state. A pool moves through the states in
// order and never back.
type State uint32

const (
	// Open: accepting tasks.
	Open State = iota
	// Draining: intake stopped (Shutdown); workers finish the queue, then
	// exit.
	Draining
	// Stopped: intake stopped (ShutdownNow); workers exit after their
	// current task.
	Stopped
)

// Lifecycle is the part of a pool that does not depend on its task type:
// its state, the context its tasks run with, the count of live workers,
// and the hand-off that wakes submitters blocked on a full queue. Pools
// embed one and call Init before starting workers.
type Lifecycle struct {
	state atomic.Uint32 // read by workers between tasks
	_     [CacheLinePad - 4]byte
	// waiting counts submitters blocked on a full queue; workers read it
	// as they free room.
	waiting atomic.Int32
	_       [CacheLinePad - 4]byte

	ctx    context.Context // passed to every Run; canceled by ShutdownNow
	cancel context.CancelFunc

	room    chan struct{} // a token: room was made (capacity 1)
	closing chan struct{} // closed when intake stops
	exited  chan struct{} // closed when the last worker has exited
	live    atomic.Int32  // workers started and not yet exited

	closeOnce sync.Once
	exitOnce  sync.Once
}

// Init prepares the lifecycle of a pool that starts with workers workers
// (more may be counted with WorkerStarted).
func (l *Lifecycle) Init(workers int) {
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.room = make(chan struct{}, 1)
	l.closing = make(chan struct{})
	l.exited = make(chan struct{})
	l.live.Store(int32(workers))
}

// Context returns the context tasks run with.
func (l *Lifecycle) Context() context.Context { return l.ctx }

// State returns the current state.
func (l *Lifecycle) State() State { return State(l.state.Load()) }

// Live returns the number of workers started and not yet exited.
func (l *Lifecycle) Live() int { return int(l.live.Load()) }

// WorkerStarted counts a worker started after Init.
func (l *Lifecycle) WorkerStarted() { l.live.Add(1) }

// WorkerExited counts a worker's exit. Once the pool is stopping, the
// last one closes Exited. (A dynamic pool may run out of workers while
// open, and start more later.)
func (l *Lifecycle) WorkerExited() {
	if l.live.Add(-1) == 0 && l.State() != Open {
		l.markExited()
	}
}

func (l *Lifecycle) markExited() { l.exitOnce.Do(func() { close(l.exited) }) }

// Stop moves the pool to state to (never backwards). The first call runs
// closeIntake, which must make every later submission fail, and unblocks
// waiting submitters; ShutdownNow's Stopped also cancels the tasks'
// context.
func (l *Lifecycle) Stop(to State, closeIntake func()) {
	l.closeOnce.Do(func() {
		closeIntake()
		close(l.closing)
	})
	for {
		cur := l.state.Load()
		if cur >= uint32(to) || l.state.CompareAndSwap(cur, uint32(to)) {
			break
		}
	}
	if to == Stopped {
		l.cancel()
	}
	if l.live.Load() == 0 {
		l.markExited() // no worker left to do it
	}
}

// Closing is closed when intake stops.
func (l *Lifecycle) Closing() <-chan struct{} { return l.closing }

// Exited is closed when the last worker has exited after Stop.
func (l *Lifecycle) Exited() <-chan struct{} { return l.exited }

// Wait waits for every worker to exit, or for ctx to be done.
func (l *Lifecycle) Wait(ctx context.Context) error {
	select {
	case <-l.exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// BeginWait registers a submitter about to wait for room. It must retry
// its submission after BeginWait and before WaitRoom: a worker that makes
// room after that retry failed then sees the waiter and leaves a token.
func (l *Lifecycle) BeginWait() { l.waiting.Add(1) }

// EndWait unregisters a waiting submitter.
func (l *Lifecycle) EndWait() { l.waiting.Add(-1) }

// WaitRoom blocks a registered submitter until room may have been made
// (nil: retry), ctx is done (its error) or intake stops (ErrClosed).
func (l *Lifecycle) WaitRoom(ctx context.Context) error {
	select {
	case <-l.room:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-l.closing:
		return poolrt.ErrClosed
	}
}

// Room tells a waiting submitter, if any, that room was made. It costs
// one atomic load when nobody waits.
func (l *Lifecycle) Room() {
	if l.waiting.Load() > 0 {
		l.passRoom()
	}
}

// PassRoom is Room for a submitter that just got room itself: if others
// still wait, one of them may fit too.
func (l *Lifecycle) PassRoom() {
	if l.waiting.Load() > 1 {
		l.passRoom()
	}
}

func (l *Lifecycle) passRoom() {
	if len(l.room) > 0 {
		// A token waits already: while submitters wait for room, workers
		// start tasks faster than the submitters take tokens, and a send
		// that cannot succeed would still lock the channel.
		return
	}
	select {
	case l.room <- struct{}{}:
	default:
	}
}
