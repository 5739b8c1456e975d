package poolimpl

import (
	"runtime"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// SliceLen is how long a worker runs tasks back to back before it gives
// its P to the scheduler for a moment (runtime.Gosched).
//
// A pool's worker is one goroutine running many tasks, so Go's scheduler
// sees it as one long-running goroutine: a goroutine queued behind it on
// its P (a worker just woken there, a submitter, any goroutine of the
// program) waits until the scheduler preempts it, 10 ms, unless another P
// runs out of work and steals. With goroutine-per-task it would wait one
// task. On 2 vCPUs at half load of 20 µs tasks, woken workers waited
// behind busy ones on the waker's P for up to 17 ms while the other P ran
// a submitter that never ran out of work. A yield costs a few hundred
// nanoseconds, more when it wakes an idle P's thread: with 50 µs slices,
// ~1 µs tasks from one submitter took 5% longer than with 200 µs.
const SliceLen = 100 * time.Microsecond

// maxSliceStep bounds how many tasks a worker runs between looks at the
// clock: 256 tiny tasks take about 15 µs.
const maxSliceStep = 256

// Slice paces a worker's turns on its P: the worker calls Next before each
// task it runs back to back with the previous one, and Reset when it has
// waited for work (it has yielded then anyway). The zero value is ready.
//
// Next yields the P when the slice is over, and at once when a worker
// woken since the last look has not started running: the wake put it on
// its waker's P, possibly behind this worker. A worker's first task after
// it waited or yielded starts a slice without yielding. Reading the clock
// costs tens of nanoseconds on common VMs, so Next looks at it only every
// step tasks, with step adapting to the tasks' run time (looks between
// SliceLen/4 and SliceLen/2 apart, so a slice may run half a slice
// over: with looks 1/16 to 1/4 apart, they took 1% of the time of ~1 µs
// tasks in a CPU profile).
type Slice struct {
	end   int64  // Clock stamp at which the slice ends; 0: not started
	last  int64  // Clock stamp of the last look at the clock
	left  int32  // tasks before the next look at the clock
	step  int32  // tasks between looks at the clock
	wakes uint64 // the Sleepers' wake count as of the last look
}

// Next is called before each task; it may yield the P.
func (sl *Slice) Next(c *config.Clock, s *Sleepers) {
	if behind, n := s.waiting(sl.wakes); n != sl.wakes {
		sl.wakes = n
		// Not at the start of a slice: the worker has just waited or
		// yielded, so it kept no one waiting, and yielding now would only
		// send it through the global queue (where it can be taken into
		// a stalled P's local queue) ahead of its first task.
		if behind && sl.end != 0 {
			sl.yield()
			return
		}
	}
	if sl.left--; sl.left > 0 {
		return
	}
	sl.look(c)
}

// Looks returns how many times a worker that has run out of work should
// look for more before it parks (IdleLooks), which is none after a task
// that ran for a slice or longer. Looking saves the wake-up of a parked
// worker, tens of microseconds, which matters next to short tasks and is
// lost next to long ones; but every look yields the P through the global
// queue, so the idle workers of a pool of tasks that block (I/O) would
// keep the scheduler busy, and delay the workers of every other pool in
// the program. Only a worker whose tasks take half a slice or more looks
// at the clock before each one (step 1); that last look is when its last
// task started, so Looks costs a clock read for such workers only, and
// none for short tasks.
func (sl *Slice) Looks(c *config.Clock) int {
	if sl.step == 1 && sl.last != 0 && c.Now()-sl.last >= int64(SliceLen) {
		return 0
	}
	return IdleLooks
}

// Reset starts a new slice with the next task.
func (sl *Slice) Reset() { sl.end, sl.left = 0, 0 }

func (sl *Slice) look(c *config.Clock) {
	now := c.Now()
	switch d := now - sl.last; {
	case sl.end == 0:
		sl.end = now + int64(SliceLen)
		sl.step = max(sl.step, 1) // kept from the last slice: tasks tend to be alike
	case now >= sl.end:
		sl.yield()
		return
	case d < int64(SliceLen/4):
		sl.step = min(sl.step*2, maxSliceStep)
	case d > int64(SliceLen/2):
		sl.step = max(sl.step/2, 1)
	}
	sl.last = now
	sl.left = sl.step
}

// gosched is runtime.Gosched; tests count the yields.
var gosched = runtime.Gosched

func (sl *Slice) yield() {
	gosched()
	sl.Reset()
}
