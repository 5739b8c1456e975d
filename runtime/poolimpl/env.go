package poolimpl

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// envs is what a pool does as each worker goroutine starts and ends, when
// it pins workers to CPUs (poolrt.PinWorkers) or gives them resources
// (poolrt.WorkerResource): the shared half, one per pool, held by its
// Lifecycle. Each worker slot has an Env.
type envs struct {
	set  *config.Settings
	res  *config.ResourceSettings // nil: no resources
	pin  bool
	cpus []int // where to pin slot i: cpus[i%len(cpus)]
	// nodes is the number of NUMA nodes cpus span.
	nodes int

	mu sync.Mutex // guards slots and each Env's pinned thread
	// slots holds each slot's Env, by slot, for Stats.
	slots []*Env

	opened, closed, failed, pinFailed atomic.Uint64
	open, unhealthy, pinned           atomic.Int32
}

// Env is a worker slot's environment: its resource, held in the context
// its tasks run with, and the thread it is pinned to. A slot keeps its
// Env across the goroutines that fill it (a panic's replacement, a
// dynamic pool's restart); each goroutine pins itself and opens a
// resource as it starts, and closes it as it ends.
type Env struct {
	ctx  envCtx
	slot int
	// cpu is where the slot's goroutines are pinned.
	cpu int
	// gaveUp: the slot's goroutine stopped trying to open its resource
	// (StartWorker reported false).
	gaveUp bool

	// Guarded by envs.mu: the pinned thread (0: none now), its CPU clock
	// and the monotonic clock when it was pinned, and the sums over the
	// slot's threads that ended.
	tid      int
	cpuStart int64
	since    time.Time
	cpuDone  time.Duration
	pinDone  time.Duration
}

// envCtx is a worker's context when it has a resource: the worker's
// context otherwise, answering its resource for config.ResourceKey. It is
// made once per worker slot, so passing it allocates nothing, and it
// answers one key: a task's Resource call costs a type switch, not a map
// lookup.
type envCtx struct {
	context.Context
	res  any
	open bool
}

// Value returns the worker's resource for config.ResourceKey, and defers
// to the worker's context for any other key.
func (c *envCtx) Value(key any) any {
	if _, ok := key.(config.ResourceKey); ok {
		if c.open {
			return c.res
		}
		return nil
	}
	return c.Context.Value(key)
}

// initEnvs prepares the workers' environments of a pool configured by
// set, if it pins workers or gives them resources: it reads the CPUs to
// pin to. It fails with a *poolrt.ConfigError when they cannot be read.
func (l *Lifecycle) initEnvs(set *config.Settings) error {
	w := &set.Worker
	if !w.Pin && w.Resource == nil {
		return nil
	}
	v := &envs{set: set, res: w.Resource, pin: w.Pin}
	if w.Pin {
		cpus, nodes, err := pinTargets()
		if err != nil {
			return &poolrt.ConfigError{Option: "PinWorkers()", Reason: err.Error()}
		}
		v.cpus, v.nodes = cpus, nodes
	}
	l.env = v
	return nil
}

// NewEnv returns the environment of worker slot, whose tasks would run
// with parent, and the context they run with; nil and parent when the
// pool neither pins workers nor gives them resources. Pools call it once
// per slot, before its first worker starts.
func (l *Lifecycle) NewEnv(slot int, parent context.Context) (*Env, context.Context) {
	v := l.env
	if v == nil {
		return nil, parent
	}
	e := &Env{slot: slot, ctx: envCtx{Context: parent}}
	if v.pin {
		e.cpu = v.cpus[slot%len(v.cpus)]
	}
	v.mu.Lock()
	if slot >= len(v.slots) {
		v.slots = append(v.slots, make([]*Env, slot+1-len(v.slots))...)
	}
	v.slots[slot] = e
	v.mu.Unlock()
	if v.res == nil {
		return e, parent
	}
	return e, &e.ctx
}

// Resource retry backoff: the first wait, and the longest.
const (
	resourceRetryMin = 10 * time.Millisecond
	resourceRetryMax = time.Second
)

// StartWorker prepares the calling worker goroutine, of the slot env
// belongs to: it pins it (LockOSThread, then its thread to the slot's
// CPU) and opens its resource, retrying with backoff. It reports false
// when the worker should exit instead of running tasks: the pool stopped
// while its resource would not open, retire (if not nil) says the slot
// retired, or the pool is draining and either another worker has its
// resource or idle says nothing is left to run.
func (l *Lifecycle) StartWorker(env *Env, idle, retire func() bool) bool {
	v := l.env
	env.gaveUp = false
	if v.pin {
		v.pinThread(env)
	}
	if v.res == nil {
		return true
	}
	return l.openResource(env, idle, retire)
}

// CloseResource closes the resource of env, the calling worker's, if it
// is open (env may be nil): a task that panicked on a worker that goes
// on, in a batch pool, may have left it in an unknown state.
// ReopenResource opens a fresh one before the worker runs more.
func (l *Lifecycle) CloseResource(env *Env) {
	if env != nil && env.ctx.open {
		l.env.closeResource(env)
	}
}

// ReopenResource opens env's resource again if CloseResource closed it,
// as StartWorker does; it reports false when the worker should exit
// instead.
func (l *Lifecycle) ReopenResource(env *Env, idle func() bool) bool {
	if env.ctx.open || l.env.res == nil {
		return true
	}
	return l.openResource(env, idle, nil)
}

// openResource opens env's resource, retrying with backoff; see
// StartWorker.
func (l *Lifecycle) openResource(env *Env, idle, retire func() bool) bool {
	v := l.env
	wait := resourceRetryMin
	var timer *time.Timer
	for {
		r, err := v.open1(l.ctx)
		if err == nil {
			env.ctx.res, env.ctx.open = r, true
			v.opened.Add(1)
			v.open.Add(1)
			if wait > resourceRetryMin {
				v.unhealthy.Add(-1)
			}
			return true
		}
		v.failed.Add(1)
		if wait == resourceRetryMin {
			v.unhealthy.Add(1)
		}
		v.set.ResourceFailed(err, wait)
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		closing := l.closing
		if l.State() != Open {
			closing = nil // closed: it would not wait
		}
		select {
		case <-timer.C:
		case <-closing:
		case <-l.ctx.Done():
		}
		st := l.State()
		if st == Stopped || retire != nil && retire() || st == Draining && (v.open.Load() > 0 || idle()) {
			timer.Stop()
			v.unhealthy.Add(-1)
			env.gaveUp = true
			return false
		}
		wait = min(2*wait, resourceRetryMax)
	}
}

// open1 calls the resource's open, containing a panic as a failure.
func (v *envs) open1(ctx context.Context) (r any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("poolgen: worker resource open panicked: %v", p)
		}
	}()
	return v.res.Open(ctx)
}

// ExitWorker ends the calling worker goroutine's environment: it closes
// its resource, if open, and ends the accounting of its pinned thread.
// The goroutine stays locked to its thread, which ends with it: a thread
// bound to one CPU must not go back to run other goroutines. Pools call
// it first thing as a worker goroutine ends, however it ends, before its
// exit is counted.
func (l *Lifecycle) ExitWorker(env *Env) {
	if env == nil {
		return
	}
	v := l.env
	if env.ctx.open {
		v.closeResource(env)
	}
	if v.pin {
		v.unpinThread(env)
	}
}

// closeResource closes env's open resource.
func (v *envs) closeResource(env *Env) {
	r := env.ctx.res
	env.ctx.res, env.ctx.open = nil, false
	v.open.Add(-1)
	v.closed.Add(1)
	v.set.CallHook("WorkerResource close", func() { v.res.Close(r) })
}

// pinThread locks the calling goroutine to its thread and binds the
// thread to env's CPU, and starts the accounting of its CPU time.
func (v *envs) pinThread(env *Env) {
	runtime.LockOSThread()
	if err := setAffinity(env.cpu); err != nil {
		v.pinFailed.Add(1)
	}
	tid := gettid()
	cpu, _ := threadCPU(tid)
	v.mu.Lock()
	env.tid, env.cpuStart, env.since = tid, cpu, time.Now()
	v.mu.Unlock()
	v.pinned.Add(1)
}

// unpinThread ends the accounting of env's thread, on that thread: its
// last CPU clock reading is taken while it is still alive.
func (v *envs) unpinThread(env *Env) {
	cpu, _ := threadCPU(env.tid)
	v.mu.Lock()
	env.cpuDone += time.Duration(cpu - env.cpuStart)
	env.pinDone += time.Since(env.since)
	env.tid = 0
	v.mu.Unlock()
	v.pinned.Add(-1)
}

// WorkerStats adds the workers' sections (Affinity, Resources) to st.
func (l *Lifecycle) WorkerStats(st *poolrt.Stats) {
	v := l.env
	if v == nil {
		return
	}
	if v.res != nil {
		st.Resources = &poolrt.ResourceStats{
			Open:      int(v.open.Load()),
			Unhealthy: int(v.unhealthy.Load()),
			Opened:    v.opened.Load(),
			Closed:    v.closed.Load(),
			Failed:    v.failed.Load(),
		}
	}
	if !v.pin {
		return
	}
	a := &poolrt.AffinityStats{CPUs: len(v.cpus), NUMANodes: v.nodes, PinFailed: v.pinFailed.Load()}
	v.mu.Lock()
	a.WorkerCPU = make([]time.Duration, len(v.slots))
	for i, e := range v.slots {
		if e == nil {
			continue
		}
		c, p := e.cpuDone, e.pinDone
		if e.tid != 0 {
			// The thread is alive: it ends its accounting under mu
			// before it exits.
			a.Pinned++
			if now, ok := threadCPU(e.tid); ok {
				c += time.Duration(now - e.cpuStart)
			}
			p += time.Since(e.since)
		}
		a.WorkerCPU[i] = c
		a.CPUTime += c
		a.PinnedTime += p
	}
	v.mu.Unlock()
	if a.PinnedTime > 0 {
		a.CPUUtilization = min(1, float64(a.CPUTime)/float64(a.PinnedTime))
	}
	st.Affinity = a
}
