package poolimpl

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// Scheduling is what a pool's scheduled tasks need of the pool: its
// submission that never blocks (the pool's own TrySubmit), its state and
// its queue's capacity.
type Scheduling[T any] interface {
	TrySubmit(t T) error
	Closed() bool
	Stats() poolrt.Stats
}

// DeadLetterer takes a task that never ran: a pool's dead-letter path.
type DeadLetterer[T any] interface {
	DeadLetter(t T, err error)
}

// maxRetryWait bounds the wait of a due task for room in a full pool
// between two tries.
const maxRetryWait = 20 * time.Millisecond

// Later holds the tasks a pool was given for a later time (SubmitAfter,
// SubmitAt). Its zero value is ready and costs the pool nothing until
// the first such task: it then creates its scheduler, a delay queue
// (delay.go) and, while tasks are due, one dispatcher goroutine, which
// hands them to the pool in due order with the pool's TrySubmit. A due
// task that finds the pool full stays due: the dispatcher tries it again
// with a backoff from 1 ms up to 20 ms, and the later ones wait behind
// it, so none is lost and the timer never blocks. A pool refusal for
// another reason (a circuit breaker, load shedding) cancels the task.
//
// Shutdown (Stop(false)) cancels the tasks not yet handed to the pool,
// due or not, and hands each to the pool's dead-letter path with
// poolrt.ErrClosed; ShutdownNow (Stop(true)) returns them. Call Stop
// before the pool's own Shutdown or ShutdownNow, so that a task the
// dispatcher hands over meanwhile is the pool's to drain or return.
type Later[T any] struct {
	s      atomic.Pointer[scheduler[T]]
	mu     sync.Mutex // for creating s and closing
	closed bool
}

// scheduler is a Later's state once it has had a task.
type scheduler[T any] struct {
	q       delayQueue[T]
	p       Scheduling[T]
	dl      DeadLetterer[T]
	limit   int64
	nilable bool
	ctx     context.Context // canceled by Stop
	cancel  context.CancelFunc
	wg      sync.WaitGroup // the dispatcher

	running bool // under q.mu: a dispatcher runs
	held    []T  // under q.mu: the task the dispatcher gave up at Stop

	out                                  atomic.Int64 // scheduled and not yet ended
	scheduled, fired, canceled, returned atomic.Uint64
}

// SubmitAfter schedules t to be submitted to p after d, refusing it with
// poolrt.ErrClosed once p is closed and poolrt.ErrQueueFull when as many
// tasks as p's queue holds (Stats.QueueCap) are pending. For d <= 0 it
// is p.TrySubmit(t). dl takes the canceled tasks.
func (l *Later[T]) SubmitAfter(d time.Duration, t T, p Scheduling[T], dl DeadLetterer[T]) error {
	if d <= 0 {
		return p.TrySubmit(t)
	}
	s := l.s.Load()
	if s == nil {
		var err error
		if s, err = l.start(p, dl); err != nil {
			return err
		}
	}
	if s.nilable && IsNil(&t) {
		return poolrt.ErrNilTask
	}
	if p.Closed() {
		return poolrt.ErrClosed
	}
	now := time.Now()
	s.q.mu.Lock()
	defer s.q.mu.Unlock()
	if s.q.closed {
		return poolrt.ErrClosed
	}
	if s.out.Load() >= s.limit {
		return poolrt.ErrQueueFull
	}
	s.out.Add(1)
	s.scheduled.Add(1)
	s.q.pushLocked(delayItem[T]{task: t, due: now.Add(d)}, now)
	return nil
}

// SubmitAt is SubmitAfter(time.Until(at), t, p, dl).
func (l *Later[T]) SubmitAt(at time.Time, t T, p Scheduling[T], dl DeadLetterer[T]) error {
	return l.SubmitAfter(time.Until(at), t, p, dl)
}

// start creates the scheduler, bounded by p's queue capacity.
func (l *Later[T]) start(p Scheduling[T], dl DeadLetterer[T]) (*scheduler[T], error) {
	limit := max(p.Stats().QueueCap, 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, poolrt.ErrClosed
	}
	if s := l.s.Load(); s != nil {
		return s, nil
	}
	s := &scheduler[T]{p: p, dl: dl, limit: int64(limit),
		nilable: reflect.TypeFor[T]().Kind() == reflect.Pointer}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.q.wake = s.wake
	l.s.Store(s)
	if x, ok := dl.(listed); ok {
		// The pool's Stats add this section through its wrapper type;
		// its listing sees only the engine's, so add it there too.
		add := l.AddStats
		x.lifecycle().more.Store(&add)
	}
	return s, nil
}

// wake starts the dispatcher, under q.mu, unless it runs.
func (s *scheduler[T]) wake() {
	if s.running {
		return
	}
	s.running = true
	s.wg.Add(1)
	go s.dispatch()
}

// dispatch hands the due tasks to the pool, oldest due first, until none
// is left or Stop cancels.
func (s *scheduler[T]) dispatch() {
	defer s.wg.Done()
	var timer *time.Timer
	for {
		s.q.mu.Lock()
		it, ok := s.q.popReadyLocked()
		if !ok {
			s.running = false
			s.q.mu.Unlock()
			return
		}
		s.q.mu.Unlock()
		if !s.deliver(it.task, &timer) {
			s.q.mu.Lock()
			s.held = append(s.held, it.task)
			s.running = false
			s.q.mu.Unlock()
			return
		}
	}
}

// deliver submits t, waiting while the pool is full; false if Stop
// canceled first, and t is still to end.
func (s *scheduler[T]) deliver(t T, timer **time.Timer) bool {
	wait := time.Millisecond
	for {
		err := s.p.TrySubmit(t)
		if err == nil {
			s.fired.Add(1)
			s.out.Add(-1)
			return true
		}
		if s.ctx.Err() != nil {
			return false
		}
		if !errors.Is(err, poolrt.ErrQueueFull) {
			s.cancelTask(t, err)
			return true
		}
		if *timer == nil {
			*timer = time.NewTimer(wait)
		} else {
			(*timer).Reset(wait)
		}
		select {
		case <-s.ctx.Done():
			(*timer).Stop()
			return false
		case <-(*timer).C:
		}
		wait = min(2*wait, maxRetryWait)
	}
}

// cancelTask ends t, which never reached the pool, for reason err.
func (s *scheduler[T]) cancelTask(t T, err error) {
	s.canceled.Add(1)
	s.out.Add(-1)
	s.dl.DeadLetter(t, err)
}

// Stop closes l to new tasks and ends the pending ones: they are
// returned (ShutdownNow) if ret, canceled with poolrt.ErrClosed
// (Shutdown) if not. Only the first call has tasks to end.
func (l *Later[T]) Stop(ret bool) []T {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	s := l.s.Load()
	if s == nil {
		return nil
	}
	s.q.mu.Lock()
	if s.q.closed {
		s.q.mu.Unlock()
		return nil
	}
	items := s.q.closeLocked()
	s.q.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	// The dispatcher has exited: held is ours. Its task was due first.
	tasks := s.held
	s.held = nil
	for _, it := range items {
		tasks = append(tasks, it.task)
	}
	if ret {
		s.returned.Add(uint64(len(tasks)))
		s.out.Add(-int64(len(tasks)))
		return tasks
	}
	for _, t := range tasks {
		s.cancelTask(t, poolrt.ErrClosed)
	}
	return nil
}

// AddStats adds l's section to st, if l has had tasks.
func (l *Later[T]) AddStats(st *poolrt.Stats) {
	s := l.s.Load()
	if s == nil {
		return
	}
	// Read the outcomes before the count, so that Pending is never
	// negative.
	fired, canceled, returned := s.fired.Load(), s.canceled.Load(), s.returned.Load()
	sec := &poolrt.ScheduledStats{Scheduled: s.scheduled.Load(), Fired: fired, Canceled: canceled,
		Returned: returned, Limit: int(s.limit)}
	sec.Pending = int(sec.Scheduled - fired - canceled - returned)
	st.Scheduled = AddScheduled(st.Scheduled, sec)
}

// AddScheduled returns the scheduled sections a and b added up; a may be
// nil, and is changed.
func AddScheduled(a, b *poolrt.ScheduledStats) *poolrt.ScheduledStats {
	if a == nil {
		c := *b
		return &c
	}
	a.Scheduled += b.Scheduled
	a.Pending += b.Pending
	a.Fired += b.Fired
	a.Canceled += b.Canceled
	a.Returned += b.Returned
	a.Limit += b.Limit
	return a
}

// deadLetter hands t, which never ran, to the dead-letter handler of the
// pool set configures (poolrt.OnDeadLetter) with err and 0 attempts, or
// logs it.
func deadLetter[T any](set *config.Settings, t T, err error) {
	if f, ok := set.DeadLetter.(func(T, error, int)); ok {
		set.CallHook("OnDeadLetter", func() { f(t, err, 0) })
		return
	}
	set.DeadLettered(t, err, 0)
}

// DeadLetter hands t, which never ran, to the pool's dead-letter handler
// (poolrt.OnDeadLetter) with err and 0 attempts, or logs it.
func (p *Fixed[T]) DeadLetter(t T, err error) { deadLetter(&p.e.set, t, err) }

// DeadLetter hands t, which never ran, to the pool's dead-letter handler
// (poolrt.OnDeadLetter) with err and 0 attempts, or logs it.
func (p *Dynamic[T]) DeadLetter(t T, err error) { deadLetter(&p.e.set, t, err) }

// DeadLetter hands t, which never ran, to the pool's dead-letter handler
// (poolrt.OnDeadLetter) with err and 0 attempts, or logs it.
func (p *Stealing[T]) DeadLetter(t T, err error) { deadLetter(&p.set, t, err) }

// DeadLetter hands t, which never ran, to the pool's dead-letter handler
// (poolrt.OnDeadLetter) with err and 0 attempts, or logs it.
func (e *Rank[T]) DeadLetter(t T, err error) { deadLetter(&e.set, t, err) }

// DeadLetter hands t, which never ran, to the pool's dead-letter handler
// (poolrt.OnDeadLetter) with err and 0 attempts, or logs it.
func (p *Batch[T, K]) DeadLetter(t T, err error) { deadLetter(&p.set, t, err) }

// DeadLetter hands t, which never ran, to the pool's dead-letter handler
// (poolrt.OnDeadLetter) with err and 0 attempts, or logs it.
func (e *fairBase[T]) DeadLetter(t T, err error) { deadLetter(&e.set, t, err) }
