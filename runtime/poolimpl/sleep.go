package poolimpl

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// IdleLooks is how many times an idle worker of any pool looks for work,
// yielding its P (runtime.Gosched) between looks, before it parks; after a
// long task it looks none (Slice.Looks), it looks at all only while no
// other worker of its pool is parked or looking (Sleepers.Look), and it
// stops after a yield that took longer than lookGap.
//
// Looking keeps both the worker and its P busy: a parked worker is woken
// onto its waker's P, and an idle P's thread must be woken by the OS
// (tens of microseconds on a VM) before the other P takes part. But a
// yielding goroutine goes through the scheduler's global queue, and from
// there, taken in a batch, into some P's local queue, where it waits until
// that P's goroutine gives way: with Slice, no longer than a slice. On 2
// vCPUs, 20 µs tasks, 2 workers and the latency workload's open loop
// (share of tasks waiting over 1 ms to start, 4–8 runs each): at 40k
// tasks/s, 16 looks 1.4–10%, 8 looks 3–17%, none 0.7–6%; at 46.7k tasks/s,
// 16 looks 0.5–3.8%, 8 looks 1.1–4.2%, 4 looks 3.7–12%, none 26–41% (the
// pool fell behind: every task paid a wake-up, and the second P slept).
const IdleLooks = 16

// slackLooks is how many of its IdleLooks a looking worker still makes
// once another worker has parked: enough for a submitter that feeds the
// pool without pause to refill the queue, not so many that two workers
// woken for a short burst spend a look each per task.
const slackLooks = 2

// lookGap ends an idle worker's looks when one of its yields took longer:
// while it was away, its P ran other goroutines of the program or its
// thread waited for a CPU, so the CPUs have other work, and a worker that
// keeps looking competes with it. A yield with nothing else to run takes
// a microsecond or less. On 2 vCPUs whose kernel ran the process's
// threads on one of them, looks that ignored such gaps kept two threads
// runnable there, and the one holding a task or the generator's timer
// waited out the other's time slice (milliseconds).
const lookGap = 20 * time.Microsecond

// lookYield yields the P between two looks for work, and reports whether
// the yield took longer than lookGap: the worker should stop looking.
func lookYield(c *config.Clock) bool {
	t := c.Now()
	gosched()
	return c.Now()-t > int64(lookGap)
}

// Sleepers parks idle workers and wakes them when work arrives, without a
// lock or a channel operation on the submit path while no worker sleeps: a
// submitter pays one atomic load (Wake).
//
// A worker that finds no work calls Register, then checks once more for work
// and for shutdown (the check a lost wake-up would need), and then either
// Cancel (it found something) or Wait. Submitters call Wake after making
// work visible. Because Register and the submitter's Wake each order a write
// before a read (the queue, then the parked count; the parked count, then
// the queue), one of the two always sees the other: no wake-up is lost.
type Sleepers struct {
	parked atomic.Int32 // read by every Wake; written only when workers park
	// woken counts wake tokens sent, started those received: a worker
	// woken but not yet running makes started < woken (see Slice).
	woken, started atomic.Uint64
	_              [CacheLinePad - 24]byte
	// looking is 1 while a worker looks for work before parking (Look);
	// apart from parked, which every Wake reads.
	looking atomic.Int32
	mu      sync.Mutex
	stack   []int32 // parked worker ids, most recent last
	// handed counts the tasks submitters gave to parked workers directly
	// (Handed): on the line that Take has just locked, rather than on a
	// shard meter's line that the submitter would have to fetch.
	handed atomic.Uint64
	wake   []chan struct{} // one per worker id, capacity 1
}

// NewSleepers returns a Sleepers for worker ids 0..n-1. A worker's wake
// channel is made the first time it parks.
func NewSleepers(n int) *Sleepers {
	return &Sleepers{wake: make([]chan struct{}, n)}
}

// Look reports whether a worker that has run out of work may look for
// more (IdleLooks) before it parks, and if so counts it as looking until
// it calls Looked. A worker may look only while no worker of the pool is
// parked and no other looks, as the Go scheduler keeps at most a few
// threads spinning for work.
//
// Looking pays when work comes about as fast as the workers take it: a
// worker that looks takes the next task without the wake-up of a parked
// one (a channel send by the submitter and, when the other Ps are idle,
// an OS thread wake-up). It costs when the pool has slack. A look yields
// the P through the scheduler's global run queue, which wakes no idle P:
// the looking workers and the goroutines that feed the pool then share
// one P while the others sleep, a worker runnable on a P whose thread the
// OS has paused waits out the pause (a P that always finds a goroutine in
// the global queue, such as the looping submitter, steals none), and
// every look is CPU spent on no task. A parked worker is woken onto its
// waker's P, and the wake-up also wakes an idle P to take the rest. A
// parked worker is the sign of slack: once one is parked, the others
// park at once; while all are busy, one looks.
func (s *Sleepers) Look() bool {
	return s.parked.Load() == 0 && s.looking.Load() == 0 && s.looking.CompareAndSwap(0, 1)
}

// Looked ends a look that Look allowed.
func (s *Sleepers) Looked() { s.looking.Store(0) }

// queued is a pool whose workers wait for work with lookFor.
type queued interface {
	queued() bool // whether an accepted task waits for a worker
	// spent reports whether nothing is left to come to a draining pool's
	// workers: no task queued or due later.
	spent() bool
}

// lookFor makes up to looks looks for work in a pool of life and q, if
// s.Look allows any, yielding the P between them; once another worker
// has parked, it makes slackLooks at most, and none after a yield that
// took longer than lookGap (by clock c). It reports whether the worker's
// wait is decided, and if it is, whether the worker goes on (work came,
// or the pool drains with work left) rather than exits.
func lookFor[Q queued](s *Sleepers, looks int, life *Lifecycle, q Q, c *config.Clock) (decided, goOn bool) {
	if looks == 0 || !s.Look() {
		return false, false
	}
	defer s.Looked()
	long := false
	for i := range looks {
		if st := life.State(); st != Open {
			if st == Stopped || q.queued() || q.spent() {
				return true, st == Draining && q.queued()
			}
			return false, false // draining with work to come: park until it does
		}
		if q.queued() {
			return true, true
		}
		if i >= slackLooks && s.parked.Load() > 0 {
			// Another worker parked since the look began (two woken
			// for a bunch of tasks, one finding none): the pool has
			// slack, and the looker parks too, after a few looks that
			// a steady stream of tasks fills.
			return false, false
		}
		if long {
			return false, false
		}
		long = lookYield(c)
	}
	return false, false
}

// Register marks worker id as about to park. The worker must then look for
// work once more and call Cancel or Wait.
func (s *Sleepers) Register(id int) {
	s.mu.Lock()
	if s.wake[id] == nil {
		s.wake[id] = make(chan struct{}, 1)
	}
	s.stack = append(s.stack, int32(id))
	s.parked.Store(int32(len(s.stack)))
	s.mu.Unlock()
}

// Cancel withdraws a Register. It reports false when a waker has already
// chosen the worker: a wake token is then on its way and the worker must
// consume it with Wait (which returns at once) before parking again.
func (s *Sleepers) Cancel(id int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.stack) - 1; i >= 0; i-- {
		if s.stack[i] == int32(id) {
			s.stack = append(s.stack[:i], s.stack[i+1:]...)
			s.parked.Store(int32(len(s.stack)))
			return true
		}
	}
	return false
}

// Wait parks worker id, which has registered, until it is woken.
func (s *Sleepers) Wait(id int) {
	<-s.C(id)
	s.Woke()
}

// C returns worker id's wake channel, for workers that must also wait on a
// timer or another event. A receive from it followed by Woke stands for
// Wait. The worker must have registered once.
func (s *Sleepers) C(id int) <-chan struct{} {
	s.mu.Lock()
	c := s.wake[id]
	s.mu.Unlock()
	return c
}

// Woke records that a worker received its wake token from C and runs.
func (s *Sleepers) Woke() { s.started.Add(1) }

// WakeID wakes worker id if it is parked (a dynamic pool retiring it).
func (s *Sleepers) WakeID(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.stack) - 1; i >= 0; i-- {
		if s.stack[i] == int32(id) {
			s.stack = append(s.stack[:i], s.stack[i+1:]...)
			s.parked.Store(int32(len(s.stack)))
			s.woken.Add(1)
			s.wake[id] <- struct{}{} // never blocks: one token per Register
			return
		}
	}
}

// Wake wakes one parked worker, if any. It costs one atomic load when none
// is parked.
func (s *Sleepers) Wake() {
	if s.parked.Load() > 0 {
		if id, ok := s.Take(); ok {
			s.Send(id)
		}
	}
}

// Take removes the most recently parked worker from the parked ones and
// returns its id, or false when none is parked. The worker stays blocked
// until Send: the caller may first give it work of its own (see
// engine.handTo).
func (s *Sleepers) Take() (id int, ok bool) {
	s.mu.Lock()
	n := len(s.stack)
	if n == 0 {
		s.mu.Unlock()
		return 0, false
	}
	id = int(s.stack[n-1]) // LIFO: the most recently parked worker has the warmest cache
	s.stack = s.stack[:n-1]
	s.parked.Store(int32(n - 1))
	s.mu.Unlock()
	return id, true
}

// Send wakes worker id, which Take returned.
func (s *Sleepers) Send(id int) {
	s.woken.Add(1)
	s.wake[id] <- struct{}{} // never blocks: one token per Register
}

// Handed counts a task given to a parked worker directly and returns the
// count before it: the task's ticket, for latency sampling. The pool's
// Meter reads the count (Meter.submitted).
func (s *Sleepers) Handed() uint64 { return s.handed.Add(1) - 1 }

// WakeAll wakes every parked worker (shutdown, resize).
func (s *Sleepers) WakeAll() {
	s.mu.Lock()
	s.woken.Add(uint64(len(s.stack)))
	for _, id := range s.stack {
		s.wake[id] <- struct{}{} // never blocks: one token per Register
	}
	s.stack = s.stack[:0]
	s.parked.Store(0)
	s.mu.Unlock()
}

// Parked returns the number of parked workers.
func (s *Sleepers) Parked() int { return int(s.parked.Load()) }

// waiting reports whether a worker woken after the wake count seen has
// not started running yet, and returns the current wake count.
func (s *Sleepers) waiting(seen uint64) (bool, uint64) {
	n := s.woken.Load()
	if n == seen {
		return false, n
	}
	return s.started.Load() < n, n
}
