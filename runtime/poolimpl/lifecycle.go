package poolimpl

import (
	"context"
	"fmt"
	"reflect"
	"runtime/pprof"
	"runtime/trace"
	"sync"
	"sync/atomic"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
	"github.com/poolgen/poolgen/runtime/internal/registry"
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
	exited  chan struct{} // closed when the last worker (and the watchdog) has exited
	// watchStop, in a pool with a watchdog (poolrt.Watchdog), is closed
	// when the last worker has exited. It stops the watchdog, whose
	// goroutine then closes exited: Shutdown and ShutdownNow return only
	// once the watchdog can no longer call the user's handler, nor count
	// a panic in it. Nil without a watchdog.
	watchStop chan struct{}
	live      atomic.Int32 // workers started and not yet exited

	closeOnce sync.Once
	exitOnce  sync.Once

	// A pool with a name (poolrt.Name) has a place in the registry, which
	// it leaves when its last worker has exited, and profiler labels that
	// its workers wear; both nil without a name.
	entry  *registry.Entry
	labels context.Context
	// region is the execution-trace region type of a named pool's tasks.
	region string
	// more adds to a listed pool's Stats what its engine does not hold:
	// the section of its Later, which the pool's wrapper type owns and
	// attaches when the first task is scheduled (listStats).
	more atomic.Pointer[func(*poolrt.Stats)]

	// waiters recycles the completion handles of SubmitWait.
	waiters waiters

	// env pins workers and opens their resources (poolrt.PinWorkers,
	// poolrt.WorkerResource); nil when the pool does neither.
	env *envs
}

// Waiter returns a completion handle for a task about to be submitted
// with SubmitWait; recycled, so that SubmitWait allocates nothing in
// steady state.
func (l *Lifecycle) Waiter() *Waiter { return l.waiters.get() }

// Closed reports whether intake has stopped: Shutdown or ShutdownNow was
// called, and every submission from now on fails with poolrt.ErrClosed.
func (l *Lifecycle) Closed() bool { return l.State() != Open }

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

func (l *Lifecycle) markExited() {
	l.exitOnce.Do(func() {
		if l.entry != nil {
			registry.Remove(l.entry)
		}
		if l.watchStop != nil {
			close(l.watchStop) // the watchdog closes exited
			return
		}
		close(l.exited)
	})
}

// Reserve takes set.Name, if any, for a pool of pattern running tasks of
// type task, and prepares its workers' profiler labels and environments.
// Call it before starting any worker: a name in use, or CPUs to pin to
// that cannot be read, fail the constructor with a *poolrt.ConfigError,
// and nothing must have started then.
func (l *Lifecycle) Reserve(set *config.Settings, pattern config.Pattern, task string) error {
	if err := l.initEnvs(set); err != nil {
		return err
	}
	if set.Name == "" {
		return nil
	}
	e := &registry.Entry{Name: set.Name, Pattern: pattern.String(), Task: task}
	if err := registry.Reserve(e); err != nil {
		return &poolrt.ConfigError{Option: fmt.Sprintf("Name(%q)", set.Name), Reason: err.Error()}
	}
	l.entry = e
	l.region = "poolgen.task " + set.Name
	l.labels = pprof.WithLabels(context.Background(), pprof.Labels("poolgen.pool", set.Name, "poolgen.pattern", e.Pattern))
	return nil
}

// List shows a named pool in the registry, with its Stats and, for a
// dynamic pool, its SetLimits, and starts the watchdog of m, the pool's
// meter, if it has one (poolrt.Watchdog), until the last worker has
// exited; call it once the pool is ready for all that.
func (l *Lifecycle) List(m *Meter, stats func() poolrt.Stats, setLimits func(min, max int) error) {
	if d := m.watch; d != nil {
		l.watchStop = make(chan struct{})
		go func() {
			defer close(l.exited)
			l.LabelWorker()
			d.run(l.watchStop)
		}()
	}
	if l.entry != nil {
		l.entry.Stats = func() poolrt.Stats {
			st := stats()
			if more := l.more.Load(); more != nil {
				(*more)(&st)
			}
			return st
		}
		l.entry.SetLimits = setLimits
		registry.List(l.entry)
	}
}

// listed is a pool whose Lifecycle lists it (package poolmon): a Later
// that schedules for it adds its section to what the listing shows.
type listed interface{ lifecycle() *Lifecycle }

func (p *Fixed[T]) lifecycle() *Lifecycle   { return &p.e.life }
func (p *Dynamic[T]) lifecycle() *Lifecycle { return &p.e.life }
func (f *feed[T]) lifecycle() *Lifecycle    { return &f.life }
func (e *Rank[T]) lifecycle() *Lifecycle    { return &e.life }
func (p *Batch[T, K]) lifecycle() *Lifecycle {
	return &p.life
}
func (e *fairBase[T]) lifecycle() *Lifecycle { return &e.life }

// taskName names the task type T for the registry, as package.Type.
func taskName[T any]() string { return reflect.TypeFor[T]().String() }

// LabelWorker labels the calling worker goroutine with its pool's name and
// pattern for profiles and traces, once per goroutine (per-task labels
// would allocate). Unnamed pools' workers keep the labels they inherited.
func (l *Lifecycle) LabelWorker() {
	if l.labels != nil {
		pprof.SetGoroutineLabels(l.labels)
	}
}

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

// taskRegion marks each task a named pool's worker runs as a region of the
// execution trace (runtime/trace), named "poolgen.task" and the pool's
// name, while a trace is being recorded; so a trace shows which pool ran
// what, and for how long. Unnamed pools pay one predictable branch per
// task, named pools one atomic load while no trace is recorded.
type taskRegion struct {
	kind string // the region type; "" for an unnamed pool
	r    *trace.Region
}

// begin opens the region of a task starting now. It and end inline, so
// that a worker of an unnamed pool pays a branch per task, not a call.
func (t *taskRegion) begin(ctx context.Context) {
	if t.kind != "" {
		t.open(ctx)
	}
}

// open and close stay out of line so that begin and end inline.
//
//go:noinline
func (t *taskRegion) open(ctx context.Context) {
	if trace.IsEnabled() {
		t.r = trace.StartRegion(ctx, t.kind)
	}
}

// end closes the region of the task that just ended, if one is open.
func (t *taskRegion) end() {
	if t.r != nil {
		t.close()
	}
}

//go:noinline
func (t *taskRegion) close() {
	t.r.End()
	t.r = nil
}

// reset forgets the region of a task that panicked: it belonged to the
// goroutine that ended with it, and a region must end on its own goroutine.
func (t *taskRegion) reset() { t.r = nil }
