package poolrt

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// IdleSpin is how long an idle worker keeps looking for work, yielding its
// P between looks, before it parks (see [Spin]). A parked worker costs its
// waker a futex wake-up of an OS thread, and when the thread's CPU went
// idle too, the thread may start long after: on a 2-vCPU VM at half load
// of 20 µs tasks (one every 22 µs), 15–23% of a fixed pool's tasks waited
// over a millisecond to start when workers parked after four looks, a
// tenth as many with about 30 µs of looks. A worker yields at each look,
// so it never keeps a goroutine that has work from running, and at most
// [Sleepers.SpinMax] workers of a pool look at a time, so that a large
// pool fed a trickle of tasks does not keep every CPU busy looking.
const IdleSpin = 50 * time.Microsecond

// spinLooksMax bounds the looks of a spell when the clock stands still
// (under testing/synctest, time passes only while every goroutine is
// blocked).
const spinLooksMax = 1024

// spinLooksMin is the looks of a spell that could not begin (SpinMax
// workers are in one): enough to bridge the gap between a task's forks in
// a fork-join tree, or between two tasks of a steady stream.
const spinLooksMin = 4

// Spin paces an idle worker's spell of looking for work before it parks
// (see [Sleepers.Spin]):
//
//	s := sleepers.Spin(clk)
//	for {
//		if there is work { s.Stop(); ... }
//		if !s.Next() { break } // park
//	}
type Spin struct {
	sl    *Sleepers // nil once the spell is over, or if it never began
	clk   *Clock
	since int64 // 0 until the first reading
	looks int
}

// Next yields the processor and reports true, or reports false once the
// spell has lasted about IdleSpin (after a few looks if it never began):
// the worker should park. It reads the clock every 8 looks (a look and a
// yield cost 0.1–0.2 µs, a clock read a fifth of that), first after 8
// looks: most spells of a busy pool end sooner, and should cost it no
// clock reading.
func (s *Spin) Next() bool {
	s.looks++
	if s.sl == nil {
		if s.looks >= spinLooksMin {
			return false
		}
	} else if s.looks%8 == 0 {
		now := s.clk.Now()
		if s.since == 0 {
			s.since = now
		} else if s.looks >= spinLooksMax || now-s.since >= int64(IdleSpin) {
			s.Stop()
			return false
		}
	}
	runtime.Gosched()
	return true
}

// Stop ends the spell: the worker found work, or is leaving. It may be
// called more than once.
func (s *Spin) Stop() {
	if s.sl != nil {
		s.sl.spinning.Add(-1)
		s.sl = nil
	}
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
	_      [CacheLinePad - 4]byte
	// spinning counts the workers in a spell of looking for work (Spin);
	// written when workers run dry and when they find work, read by no
	// submitter: a line of its own.
	spinning atomic.Int32
	spinMax  int32
	_        [CacheLinePad - 8]byte
	mu       sync.Mutex
	stack    []int32         // parked worker ids, most recent last
	wake     []chan struct{} // one per worker id, capacity 1
}

// NewSleepers returns a Sleepers for worker ids 0..n-1. A worker's wake
// channel is made the first time it parks.
func NewSleepers(n int) *Sleepers {
	return &Sleepers{
		wake:    make([]chan struct{}, n),
		spinMax: int32(max(1, runtime.GOMAXPROCS(0)/2)),
	}
}

// SpinMax returns how many workers may be in a spell of looking for work
// at a time: half of GOMAXPROCS as of NewSleepers, at least one. The Go
// scheduler bounds its own spinning threads the same way.
func (s *Sleepers) SpinMax() int { return int(s.spinMax) }

// Spin begins a worker's spell of looking for work before it parks, timed
// by clk, unless SpinMax workers are in one already: then the spell lasts
// a few looks only.
func (s *Sleepers) Spin(clk *Clock) Spin {
	for {
		n := s.spinning.Load()
		if n >= s.spinMax {
			return Spin{}
		}
		if s.spinning.CompareAndSwap(n, n+1) {
			return Spin{sl: s, clk: clk}
		}
	}
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
func (s *Sleepers) Wait(id int) { <-s.C(id) }

// C returns worker id's wake channel, for workers that must also wait on a
// timer or another event. A receive from it stands for Wait. The worker
// must have registered once.
func (s *Sleepers) C(id int) <-chan struct{} {
	s.mu.Lock()
	c := s.wake[id]
	s.mu.Unlock()
	return c
}

// WakeID wakes worker id if it is parked (a dynamic pool retiring it).
func (s *Sleepers) WakeID(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.stack) - 1; i >= 0; i-- {
		if s.stack[i] == int32(id) {
			s.stack = append(s.stack[:i], s.stack[i+1:]...)
			s.parked.Store(int32(len(s.stack)))
			s.wake[id] <- struct{}{} // never blocks: one token per Register
			return
		}
	}
}

// Wake wakes one parked worker, if any. It costs one atomic load when none
// is parked.
func (s *Sleepers) Wake() {
	if s.parked.Load() > 0 {
		s.wakeOne()
	}
}

func (s *Sleepers) wakeOne() {
	s.mu.Lock()
	n := len(s.stack)
	if n == 0 {
		s.mu.Unlock()
		return
	}
	id := s.stack[n-1] // LIFO: the most recently parked worker has the warmest cache
	s.stack = s.stack[:n-1]
	s.parked.Store(int32(n - 1))
	s.mu.Unlock()
	s.wake[id] <- struct{}{} // never blocks: one token per Register
}

// WakeAll wakes every parked worker (shutdown, resize).
func (s *Sleepers) WakeAll() {
	s.mu.Lock()
	for _, id := range s.stack {
		s.wake[id] <- struct{}{} // never blocks: one token per Register
	}
	s.stack = s.stack[:0]
	s.parked.Store(0)
	s.mu.Unlock()
}

// Parked returns the number of parked workers.
func (s *Sleepers) Parked() int { return int(s.parked.Load()) }
