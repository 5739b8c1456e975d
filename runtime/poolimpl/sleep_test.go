package poolimpl

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// tokens reports, without blocking, which workers have a wake token
// waiting, and consumes them.
func tokens(s *Sleepers) []int {
	var ids []int
	for id := range s.wake {
		select {
		case <-s.C(id):
			ids = append(ids, id)
		default:
		}
	}
	return ids
}

// The tests below run in a synctest bubble even when no time passes: a
// send or receive that would block forever then fails the test at once
// (deadlock) instead of hanging it.

func TestSleepersWakeLIFO(t *testing.T) {
	synctest.Test(t, testSleepersWakeLIFO)
}

func testSleepersWakeLIFO(t *testing.T) {
	s := NewSleepers(3)
	s.Wake() // nobody parked: no-op
	if got := tokens(s); got != nil {
		t.Fatalf("Wake with nobody parked left tokens for %v", got)
	}
	s.Register(0)
	s.Register(2)
	s.Register(1)
	if s.Parked() != 3 {
		t.Fatalf("Parked() = %d, want 3", s.Parked())
	}
	for _, want := range []int{1, 2, 0} { // most recently parked first
		s.Wake()
		if got := tokens(s); len(got) != 1 || got[0] != want {
			t.Fatalf("Wake woke %v, want [%d]", got, want)
		}
	}
	if s.Parked() != 0 {
		t.Fatalf("Parked() = %d after waking all, want 0", s.Parked())
	}
	s.Wake()
	if got := tokens(s); got != nil {
		t.Fatalf("extra Wake left tokens for %v", got)
	}
}

func TestSleepersCancel(t *testing.T) {
	synctest.Test(t, testSleepersCancel)
}

func testSleepersCancel(t *testing.T) {
	s := NewSleepers(3)
	s.Register(0)
	s.Register(1)
	s.Register(2)
	if !s.Cancel(1) {
		t.Fatal("Cancel of a registered, unwoken worker = false, want true")
	}
	if s.Parked() != 2 {
		t.Fatalf("Parked() = %d after Cancel, want 2", s.Parked())
	}
	s.Wake()
	s.Wake()
	s.Wake()
	if got := tokens(s); len(got) != 2 || got[0] != 0 || got[1] != 2 {
		t.Fatalf("Wakes woke %v, want [0 2] (the canceled worker 1 must not be woken)", got)
	}
}

// TestSleepersCancelAfterWake: once a waker has chosen the worker, Cancel
// reports false and the token is pending, so Wait returns at once; the
// worker can then park again normally.
func TestSleepersCancelAfterWake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSleepers(2)
		s.Register(1)
		s.Wake()
		if s.Cancel(1) {
			t.Fatal("Cancel after the worker was woken = true, want false")
		}
		if s.Parked() != 0 {
			t.Fatalf("Parked() = %d, want 0", s.Parked())
		}
		var returned atomic.Bool
		go func() {
			s.Wait(1)
			returned.Store(true)
		}()
		synctest.Wait()
		if !returned.Load() {
			t.Fatal("Wait blocked although Cancel reported a pending token")
		}

		// The token is consumed: parking again blocks until a new Wake.
		returned.Store(false)
		go func() {
			s.Register(1)
			s.Wait(1)
			returned.Store(true)
		}()
		synctest.Wait()
		if returned.Load() {
			t.Fatal("Wait returned without a Wake: a stale token was left behind")
		}
		s.Wake()
		synctest.Wait()
		if !returned.Load() {
			t.Fatal("Wake did not wake the parked worker")
		}
	})
}

func TestSleepersWaitBlocksUntilWake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 4
		s := NewSleepers(n)
		var woken [n]atomic.Bool
		for id := range n {
			s.Register(id) // in order, so LIFO order is known
			go func() {
				s.Wait(id)
				woken[id].Store(true)
			}()
		}
		synctest.Wait()
		for id := range n {
			if woken[id].Load() {
				t.Fatalf("worker %d returned from Wait before any Wake", id)
			}
		}
		for k := range n {
			s.Wake()
			synctest.Wait()
			for id := range n {
				if want := id >= n-1-k; woken[id].Load() != want {
					t.Fatalf("after %d Wakes: worker %d woken = %v, want %v", k+1, id, !want, want)
				}
			}
			if got := s.Parked(); got != n-1-k {
				t.Fatalf("after %d Wakes: Parked() = %d, want %d", k+1, got, n-1-k)
			}
		}
	})
}

func TestSleepersWakeAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 6
		s := NewSleepers(n)
		var woken atomic.Int32
		for id := range n - 1 { // workers 0..4 park; 5 never registers
			go func() {
				s.Register(id)
				s.Wait(id)
				woken.Add(1)
			}()
		}
		synctest.Wait()
		if s.Parked() != n-1 || woken.Load() != 0 {
			t.Fatalf("Parked() = %d, woken %d; want %d, 0", s.Parked(), woken.Load(), n-1)
		}
		s.WakeAll()
		synctest.Wait()
		if woken.Load() != n-1 || s.Parked() != 0 {
			t.Fatalf("after WakeAll: woken %d, Parked() %d; want %d, 0", woken.Load(), s.Parked(), n-1)
		}
		if got := tokens(s); got != nil {
			t.Fatalf("WakeAll left tokens for %v (worker 5 never registered)", got)
		}
		s.WakeAll() // nobody parked: no-op, must not block
		if got := tokens(s); got != nil {
			t.Fatalf("WakeAll with nobody parked left tokens for %v", got)
		}

		// A worker registered but not yet waiting keeps its token.
		s.Register(3)
		s.WakeAll()
		if s.Cancel(3) {
			t.Fatal("Cancel after WakeAll = true, want false")
		}
		if got := tokens(s); len(got) != 1 || got[0] != 3 {
			t.Fatalf("WakeAll before Wait: tokens %v, want [3]", got)
		}
	})
}

// TestSleepersTimedWait: a worker that waits on C(id) or a timer, times
// out, and Cancels; a later Wake must not leave a stale token behind.
func TestSleepersTimedWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSleepers(1)
		s.Register(0)
		select {
		case <-s.C(0):
			t.Fatal("woken without a Wake")
		case <-time.After(time.Second):
		}
		if !s.Cancel(0) {
			t.Fatal("Cancel after a timeout = false, want true: nobody woke the worker")
		}
		s.Wake()
		if got := tokens(s); got != nil {
			t.Fatalf("Wake after Cancel left tokens for %v", got)
		}
	})
}

// TestSleepersNoLostWakeup runs the parking protocol documented on
// Sleepers (Register, look again, then Cancel or Wait) against producers
// that publish work and then call Wake. Each item is published only after
// the previous one was taken, so every item races with workers going to
// sleep. A lost wake-up leaves the item untaken with every worker parked:
// the watchdog then fails the test instead of letting it hang.
func TestSleepersNoLostWakeup(t *testing.T) {
	items := 20000
	if testing.Short() {
		items = 2000
	}
	for _, workers := range []int{1, 2, 4} {
		t.Run(fmt.Sprint("workers=", workers), func(t *testing.T) {
			n := items / workers
			stressSleepers(t, workers, n, 1)
			stressSleepers(t, workers, n/4, 4)
		})
	}
}

// stressSleepers: workers park on a Sleepers; the test publishes items in
// bursts of burst (one Wake per item) and waits for each burst to be taken.
func stressSleepers(t *testing.T, workers, bursts, burst int) {
	t.Helper()
	s := NewSleepers(workers)
	var work atomic.Int64 // published, not yet taken
	var stop atomic.Bool
	taken := make(chan struct{}, burst)

	take := func() bool {
		for {
			n := work.Load()
			if n == 0 {
				return false
			}
			if work.CompareAndSwap(n, n-1) {
				return true
			}
		}
	}
	var wg sync.WaitGroup
	for id := range workers {
		wg.Go(func() {
			spins := 0
			for {
				if take() {
					taken <- struct{}{}
					continue
				}
				if stop.Load() {
					return
				}
				if spins++; spins%3 == 0 {
					// Widen the window between the failed look and
					// Register, as a pool's idle spinning does: without the
					// look after Register, wake-ups are lost within a few
					// iterations even without -race.
					runtime.Gosched()
				}
				s.Register(id)
				if work.Load() > 0 || stop.Load() { // the look after registering
					if !s.Cancel(id) {
						s.Wait(id) // consume the token already sent
					}
					continue
				}
				s.Wait(id)
			}
		})
	}

	watchdog := time.NewTimer(20 * time.Second)
	defer watchdog.Stop()
	for b := range bursts {
		for range burst {
			work.Add(1)
			s.Wake()
		}
		for range burst {
			select {
			case <-taken:
			case <-watchdog.C:
				t.Fatalf("lost wake-up: burst %d of %d not taken; work=%d, parked=%d of %d workers",
					b, bursts, work.Load(), s.Parked(), workers)
			}
		}
	}
	stop.Store(true)
	s.WakeAll()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-watchdog.C:
		t.Fatalf("workers did not exit after stop + WakeAll; parked=%d", s.Parked())
	}
	if work.Load() != 0 || s.Parked() != 0 {
		t.Fatalf("after the run: work=%d, parked=%d; want 0, 0", work.Load(), s.Parked())
	}
	if got := tokens(s); got != nil {
		t.Fatalf("stale wake tokens left for workers %v", got)
	}
}

// TestSleepersLook: one worker at a time may look, and none while one is
// parked.
func TestSleepersLook(t *testing.T) {
	s := NewSleepers(2)
	if !s.Look() {
		t.Fatal("Look = false with no worker looking or parked")
	}
	if s.Look() {
		t.Fatal("Look = true while another worker looks")
	}
	s.Looked()
	s.Register(0)
	if s.Look() {
		t.Fatal("Look = true while a worker is parked")
	}
	if !s.Cancel(0) {
		t.Fatal("Cancel = false with no wake-up sent")
	}
	if !s.Look() {
		t.Fatal("Look = false once the parked worker left and the looker ended")
	}
	s.Looked()
}

// countYieldsAtomic replaces gosched, for pools whose workers yield, and
// returns the number of yields so far.
func countYieldsAtomic(t *testing.T) *atomic.Int64 {
	n := new(atomic.Int64)
	saved := gosched
	gosched = func() { n.Add(1) }
	t.Cleanup(func() { gosched = saved })
	return n
}

type blockTask struct {
	release <-chan struct{}
	done    *sync.WaitGroup
}

func (b blockTask) Run(context.Context) error {
	if b.release != nil {
		<-b.release
	}
	b.done.Done()
	return nil
}

// waitParked waits until n of the pool's workers are parked.
func waitParked(t *testing.T, s *Sleepers, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Parked() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers parked, want %d", s.Parked(), n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// TestIdleWorkersLookOnlyWhenBusy: a worker that runs out of work looks
// for more (IdleLooks yields) while every other worker is busy, and parks
// at once when another one is parked. In a bubble, so that no task seems
// long enough to skip the looks (Slice.Looks).
func TestIdleWorkersLookOnlyWhenBusy(t *testing.T) {
	for _, pattern := range []string{"fixed", "priority"} {
		t.Run(pattern, func(t *testing.T) { synctest.Test(t, func(t *testing.T) { idleWorkersLookOnlyWhenBusy(t, pattern) }) })
	}
}

func idleWorkersLookOnlyWhenBusy(t *testing.T, pattern string) {
	yields := countYieldsAtomic(t)
	var (
		s      *Sleepers
		submit func(blockTask)
		stop   func()
	)
	switch pattern {
	case "fixed":
		p, err := NewFixedPool[blockTask](poolrt.Workers(2))
		if err != nil {
			t.Fatal(err)
		}
		s, stop = p.e.sleep, func() { _ = p.Shutdown(context.Background()) }
		submit = func(b blockTask) {
			if err := p.Submit(context.Background(), b); err != nil {
				t.Fatal(err)
			}
		}
	case "priority":
		p := new(Rank[blockTask])
		if err := p.Init(poolrt.ByPriority, []poolrt.Option{poolrt.Workers(2)}, testLane[blockTask](), nil, nil); err != nil {
			t.Fatal(err)
		}
		s, stop = p.sleep, func() { _ = p.Shutdown(context.Background()) }
		submit = func(b blockTask) {
			if err := p.Submit(context.Background(), b, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer stop()
	waitParked(t, s, 2)
	yields.Store(0)
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock() // before stop: a failed test must not leave the task blocked
	var done sync.WaitGroup
	done.Add(2)
	submit(blockTask{release: release, done: &done}) // keeps one worker busy
	submit(blockTask{done: &done})                   // the other runs it, then looks
	waitParked(t, s, 1)
	if n := yields.Load(); n != IdleLooks {
		t.Fatalf("%d yields by the worker that ran out of work while the other was busy, want %d", n, IdleLooks)
	}
	unblock()
	done.Wait()
	waitParked(t, s, 2)
	if n := yields.Load(); n != IdleLooks {
		t.Fatalf("%d yields after the busy worker finished beside a parked one, want %d (it parks at once)", n, IdleLooks)
	}
}

// stubQueue is a queue for lookFor that never has work.
type stubQueue struct{}

func (stubQueue) queued() bool { return false }
func (stubQueue) spent() bool  { return false }

// lookIdle runs lookFor for worker 0 of a two-worker pool with no work,
// in a bubble (no yield takes long unless the hook sleeps), with gosched
// replaced by hook, which is told each yield's number (from 1). It fails
// the test unless the worker is told to park, and returns the yields.
func lookIdle(t *testing.T, hook func(s *Sleepers, yield int)) int {
	t.Helper()
	n := 0
	synctest.Test(t, func(t *testing.T) {
		s := NewSleepers(2)
		var life Lifecycle
		life.Init(2)
		clock := config.NewClock()
		saved := gosched
		gosched = func() { n++; hook(s, n) }
		defer func() { gosched = saved }()
		if decided, goOn := lookFor(s, IdleLooks, &life, stubQueue{}, &clock); decided || goOn {
			t.Fatalf("lookFor = %v, %v; want false, false (park)", decided, goOn)
		}
		if s.looking.Load() != 0 {
			t.Fatal("the look was not ended (Looked)")
		}
	})
	return n
}

// TestLookStopsWhenAnotherParks: a worker that began to look while every
// other worker ran stops looking once one of them parks (the pool has
// slack), after slackLooks looks, instead of yielding IdleLooks times.
// Two workers woken for two tasks, one of which finds none and parks,
// made the other look in full at a thousand tasks a second.
func TestLookStopsWhenAnotherParks(t *testing.T) {
	n := lookIdle(t, func(s *Sleepers, yield int) {
		if yield == 1 {
			s.Register(1)
		}
	})
	if n != slackLooks {
		t.Fatalf("%d yields; want %d: the look stops when another worker parks", n, slackLooks)
	}
}

// TestLookStopsAfterLongYield: a worker stops looking for work after a
// yield that took longer than lookGap (its P ran other goroutines, or
// its thread waited for a CPU), and parks rather than compete for the
// CPU; while yields come back at once, it makes all its looks.
func TestLookStopsAfterLongYield(t *testing.T) {
	for _, c := range []struct {
		name      string
		longAt    int // the yield that takes long; 0: none
		wantYield int
	}{{"quick yields", 0, IdleLooks}, {"third yield long", 3, 3}} {
		t.Run(c.name, func(t *testing.T) {
			n := lookIdle(t, func(_ *Sleepers, yield int) {
				if yield == c.longAt {
					time.Sleep(lookGap + time.Microsecond)
				}
			})
			if n != c.wantYield {
				t.Fatalf("%d yields; want %d", n, c.wantYield)
			}
		})
	}
}
