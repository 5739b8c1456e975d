package poolimpl

import (
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// countYields replaces gosched for the test and returns the number of
// yields so far.
func countYields(t *testing.T) *int {
	n := new(int)
	saved := gosched
	gosched = func() { *n++ }
	t.Cleanup(func() { gosched = saved })
	return n
}

// yieldProbe watches a worker give way at the end of its slice: once
// armed (by the test's task, after it ended the slice), the next yield
// records check's answer, whether what the worker would take next is
// still there for others.
type yieldProbe struct {
	armed atomic.Bool
	got   chan bool
}

// probeYields replaces gosched for the test with a yieldProbe's.
func probeYields(t *testing.T, check func() bool) *yieldProbe {
	y := &yieldProbe{got: make(chan bool, 1)}
	saved := gosched
	gosched = func() {
		if y.armed.CompareAndSwap(true, false) {
			y.got <- check()
		}
		runtime.Gosched()
	}
	t.Cleanup(func() { gosched = saved })
	return y
}

func (y *yieldProbe) arm() { y.armed.Store(true) }

// gaveWay fails the test unless the armed yield came and check held then;
// took says what the worker would have done too early.
func (y *yieldProbe) gaveWay(t *testing.T, took string) {
	t.Helper()
	select {
	case ok := <-y.got:
		if !ok {
			t.Fatalf("the worker %s before it gave way", took)
		}
	default:
		t.Fatal("the worker did not give way at the end of its slice")
	}
}

// TestSliceYieldsAtSliceEnd: tasks of 10 µs run back to back; the worker
// yields once per SliceLen (within one look's step), never before.
func TestSliceYieldsAtSliceEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		yields := countYields(t)
		c := config.NewClock()
		s := NewSleepers(1)
		var sl Slice
		const task = 10 * time.Microsecond
		var at []time.Duration // elapsed time at each yield
		start := time.Now()
		for range 10 * SliceLen / task {
			before := *yields
			sl.Next(&c, s)
			if *yields != before {
				at = append(at, time.Since(start))
			}
			time.Sleep(task)
		}
		if len(at) < 6 || len(at) > 10 {
			t.Fatalf("yields at %v over %v, want one per %v", at, 10*SliceLen, SliceLen)
		}
		prev := time.Duration(0)
		most := SliceLen + SliceLen/2 + task // the last look may come half a slice late
		for _, d := range at {
			if gap := d - prev; gap < SliceLen || gap > most {
				t.Fatalf("yields at %v: a slice of %v, want %v to %v", at, gap, SliceLen, most)
			}
			prev = d
		}
	})
}

// TestSliceTinyTasks: tasks too short to time one by one (no time passes
// in the bubble) make the worker look at the clock only every few hundred
// tasks, yet a slice that is over ends within maxSliceStep tasks.
func TestSliceTinyTasks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		yields := countYields(t)
		c := config.NewClock()
		s := NewSleepers(1)
		var sl Slice
		for range 10000 {
			sl.Next(&c, s)
		}
		if *yields != 0 {
			t.Fatalf("%d yields while no time passed, want 0", *yields)
		}
		if sl.step != maxSliceStep {
			t.Fatalf("step = %d after 10000 instant tasks, want %d", sl.step, maxSliceStep)
		}
		time.Sleep(SliceLen)
		for i := range maxSliceStep + 1 {
			sl.Next(&c, s)
			if *yields == 1 {
				return
			}
			if *yields > 1 {
				t.Fatalf("%d yields after task %d, want 1", *yields, i)
			}
		}
		t.Fatalf("no yield within %d tasks after the slice ended", maxSliceStep+1)
	})
}

// TestSliceWokenWorker: a worker woken but not yet running makes a busy
// worker yield at its next task, once per wake-up; once the woken worker
// runs, nobody yields for it; nor does a worker at its first task.
func TestSliceWokenWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		yields := countYields(t)
		c := config.NewClock()
		s := NewSleepers(2)
		var busy, other, fresh Slice
		busy.Next(&c, s) // both have run a task
		other.Next(&c, s)
		s.Register(1)
		s.Wake()
		fresh.Next(&c, s)
		if *yields != 0 {
			t.Fatalf("a worker yielded at its first task")
		}
		busy.Next(&c, s)
		other.Next(&c, s)
		if *yields != 2 {
			t.Fatalf("%d yields after a wake-up not yet received, want 2 (one per busy worker)", *yields)
		}
		busy.Next(&c, s)
		if *yields != 2 {
			t.Fatalf("a second yield for the same wake-up")
		}
		s.Wait(1)
		s.Register(1)
		s.Wake()
		s.Wait(1) // runs before the busy worker looks
		busy.Next(&c, s)
		if *yields != 2 {
			t.Fatalf("a yield for a woken worker that already runs")
		}
		// A token received through C counts once Woke is called.
		s.Register(1)
		s.WakeAll()
		<-s.C(1)
		if behind, _ := s.waiting(0); !behind {
			t.Fatal("waiting = false before Woke, want true")
		}
		s.Woke()
		if behind, _ := s.waiting(0); behind {
			t.Fatal("waiting = true after Woke, want false")
		}
	})
}

// TestSliceLooks: a worker that runs out of work after a task of a slice
// or longer parks without looking (Looks is 0); after tiny tasks, a task
// shorter than a slice, or none, it looks IdleLooks times.
func TestSliceLooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		countYields(t)
		c := config.NewClock()
		s := NewSleepers(1)
		run := func(sl *Slice, task time.Duration, n int) {
			for range n {
				sl.Next(&c, s)
				time.Sleep(task)
			}
		}
		var fresh Slice
		if got := fresh.Looks(&c); got != IdleLooks {
			t.Errorf("Looks of a worker that ran nothing = %d, want %d", got, IdleLooks)
		}
		var long Slice
		run(&long, time.Millisecond, 3)
		if got := long.Looks(&c); got != 0 {
			t.Errorf("Looks after 1ms tasks = %d, want 0", got)
		}
		long.Reset()
		run(&long, SliceLen/10, 1)
		if got := long.Looks(&c); got != IdleLooks {
			t.Errorf("Looks after a short task that follows long ones = %d, want %d", got, IdleLooks)
		}
		var tiny Slice
		for range 10_000 { // no time passes: the step grows
			tiny.Next(&c, s)
		}
		time.Sleep(SliceLen) // a wait that is no task's run time
		if got := tiny.Looks(&c); got != IdleLooks {
			t.Errorf("Looks after tiny tasks = %d, want %d", got, IdleLooks)
		}
	})
}
