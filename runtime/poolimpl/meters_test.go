package poolimpl

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

func TestCounter(t *testing.T) {
	var c Counter
	if c.Load() != 0 {
		t.Fatal("zero Counter is not 0")
	}
	c.Add(1)
	c.Add(41)
	c.Add(0)
	if got := c.Load(); got != 42 {
		t.Fatalf("Load() = %d, want 42", got)
	}

	// One writer, many readers: readers see a non-decreasing value and the
	// final value is exact (run under -race).
	var d Counter
	const n = 20000
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			var last uint64
			for last < n {
				v := d.Load()
				if v < last || v > n {
					t.Errorf("reader saw %d after %d (writer stops at %d)", v, last, n)
					return
				}
				last = v
			}
		})
	}
	for range n {
		d.Add(1)
	}
	wg.Wait()
	if d.Load() != n {
		t.Fatalf("Load() = %d, want %d", d.Load(), n)
	}
}

func TestWorkerMeterDone(t *testing.T) {
	var w WorkerMeter
	w.Done(nil)
	w.Done(errors.New("x"))
	w.Done(nil)
	w.Done(errors.New("y"))
	w.Done(nil)
	if c, f, p := w.Completed.Load(), w.Failed.Load(), w.Panicked.Load(); c != 5 || f != 2 || p != 0 {
		t.Fatalf("Completed, Failed, Panicked = %d, %d, %d; want 5, 2, 0 (errors count as completed)", c, f, p)
	}
}

func TestCallerDone(t *testing.T) {
	var m Meter
	m.CallerDone(nil, false)
	m.CallerDone(errors.New("x"), false)
	m.CallerDone(nil, true)
	m.CallerDone(errors.New("y"), true) // a panic wins over an error
	m.CallerDone(nil, false)
	c, f, p := m.Caller.Completed.Load(), m.Caller.Failed.Load(), m.Caller.Panicked.Load()
	if c != 3 || f != 1 || p != 2 {
		t.Fatalf("Caller Completed, Failed, Panicked = %d, %d, %d; want 3, 1, 2 (panics are not completed)", c, f, p)
	}
}

func TestNewMeter(t *testing.T) {
	s, _ := config.Resolve(config.Fixed, []poolrt.Option{poolrt.Workers(3), poolrt.LatencySampling(4)})
	m := NewMeter(&s, 5, 2)
	if m.Slots() != 5 || len(m.Shards) != 2 || m.SampleEvery != 4 {
		t.Fatalf("NewMeter: %d workers, %d shards, SampleEvery %d; want 5, 2, 4", m.Slots(), len(m.Shards), m.SampleEvery)
	}
	s, _ = config.Resolve(config.Fixed, []poolrt.Option{poolrt.LatencySampling(4), poolrt.Metrics(false)})
	if m := NewMeter(&s, 1, 1); m.SampleEvery != 0 {
		t.Fatalf("Metrics(false): SampleEvery = %d, want 0 (latency off)", m.SampleEvery)
	}
	s, _ = config.Resolve(config.Fixed, nil)
	if m := NewMeter(&s, 1, 1); m.SampleEvery != config.DefaultLatencySampling {
		t.Fatalf("default SampleEvery = %d, want %d", m.SampleEvery, config.DefaultLatencySampling)
	}
}

func TestSnapshot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := config.Resolve(config.Fixed, []poolrt.Option{poolrt.Workers(4), poolrt.LatencySampling(1)})
		m := NewMeter(&s, 4, 2)
		w := []*WorkerMeter{m.Worker(0), m.Worker(1), m.Worker(2), m.Worker(3)}
		for _, w := range w {
			w.Start(m.Now())
		}
		time.Sleep(2 * time.Second)

		w[0].Completed.Add(10)
		w[0].Failed.Add(2)
		w[1].Completed.Add(5)
		w[1].Panicked.Add(1)
		w[3].Panicked.Add(2)
		w[0].BusyNanos.Add(uint64(2 * time.Second))
		w[2].BusyNanos.Add(uint64(time.Second))
		w[0].SetBusy(true)
		w[2].SetBusy(true)
		w[3].SetBusy(true)
		w[3].SetBusy(false)

		sh := m.Shards
		sh[0].Submitted.Add(10)
		sh[1].Submitted.Add(7)
		sh[1].CallerRuns.Add(3)
		sh[0].CallerRuns.Add(1)
		sh[0].Rejected.Add(4)
		sh[1].Rejected.Add(1)
		m.CallerDone(nil, false)
		m.CallerDone(errors.New("x"), false)
		m.CallerDone(nil, false)
		m.CallerDone(nil, true)
		m.Returned(3)
		m.Returned(0)
		m.Returned(2)

		for _, d := range []time.Duration{10, 12, 14} { // exact buckets below 16 ns
			sh[0].Wait.Record(d)
		}
		sh[1].Wait.Record(time.Millisecond)
		sh[1].Run.Record(5)

		st := m.Snapshot(4, 6, 1024)
		want := poolrt.Stats{
			Workers: 4, Busy: 2, Idle: 2, QueueDepth: 6, QueueCap: 1024,
			Submitted:   10 + 7 + 3 + 1, // queued plus run by callers
			Rejected:    5,
			CallerRuns:  4,
			Completed:   10 + 5 + 3,
			Failed:      2 + 1,
			Panicked:    1 + 2 + 1,
			Returned:    5,
			Utilization: 3.0 / (4 * 2), // 3 s busy over 4 workers alive for 2 s
			Uptime:      2 * time.Second,
		}
		gotWait, gotRun := st.Wait, st.Run
		st.Wait, st.Run = poolrt.Latency{}, poolrt.Latency{}
		if st != want {
			t.Fatalf("Snapshot =\n%+v\nwant\n%+v", st, want)
		}
		if gotWait.Count != 4 || gotWait.Max != time.Millisecond || gotWait.P50 != 12 ||
			gotWait.Mean != (36+time.Millisecond)/4 {
			t.Errorf("Wait = %+v, want the merge of both shards' histograms", gotWait)
		}
		if gotRun != (poolrt.Latency{Count: 1, Mean: 5, P50: 5, P95: 5, P99: 5, P999: 5, Max: 5, Buckets: [28]uint64{0: 1}}) {
			t.Errorf("Run = %+v", gotRun)
		}
	})
}

func TestSnapshotGauges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := config.Resolve(config.Fixed, nil)
		m := NewMeter(&s, 3, 1)
		for i := range m.Slots() {
			m.Worker(i).Start(m.Now())
		}
		noSlots := NewMeter(&s, 0, 1)

		// At the epoch: no uptime, no utilization (and no division by zero).
		m.Worker(0).BusyNanos.Add(100)
		if st := m.Snapshot(3, 0, 8); st.Utilization != 0 || st.Uptime != 0 {
			t.Errorf("at the epoch: Utilization %v, Uptime %v; want 0, 0", st.Utilization, st.Uptime)
		}

		time.Sleep(time.Second)
		for i := range m.Slots() {
			m.Worker(i).SetBusy(true)
		}
		// Fewer live workers than slots that claim to be busy: Busy is
		// capped, Idle never negative.
		st := m.Snapshot(2, 0, 8)
		if st.Busy != 2 || st.Idle != 0 {
			t.Errorf("Snapshot(2 workers) with 3 busy slots: Busy %d, Idle %d; want 2, 0", st.Busy, st.Idle)
		}
		st = m.Snapshot(0, 0, 8)
		if st.Busy != 0 || st.Idle != 0 {
			t.Errorf("Snapshot(0 workers): Busy %d, Idle %d; want 0, 0", st.Busy, st.Idle)
		}
		st = m.Snapshot(5, 0, 8)
		if st.Busy != 3 || st.Idle != 2 {
			t.Errorf("Snapshot(5 workers): Busy %d, Idle %d; want 3, 2", st.Busy, st.Idle)
		}
		// Utilization is busy time over the time workers were alive,
		// whatever the number of live workers passed in.
		want := 100 / (3 * float64(time.Second))
		for _, live := range []int{0, 1, 3, 5} {
			if u := m.Snapshot(live, 0, 8).Utilization; u != want {
				t.Errorf("Snapshot(%d workers): Utilization %v, want %v (100 ns over 3 workers × 1 s)", live, u, want)
			}
		}
		// A meter without worker slots: no division by zero.
		if u := noSlots.Snapshot(0, 0, 8).Utilization; u != 0 || noSlots.Uptime() != time.Second {
			t.Errorf("no worker slots: Utilization %v, want 0", u)
		}

		// Sampled busy time can overestimate: Utilization stays ≤ 1.
		m.Worker(1).BusyNanos.Add(uint64(time.Hour))
		if st := m.Snapshot(3, 0, 8); st.Utilization != 1 {
			t.Errorf("Utilization = %v, want capped at 1", st.Utilization)
		}
		for i := range m.Slots() {
			m.Worker(i).SetBusy(false)
		}
		if st := m.Snapshot(3, 0, 8); st.Busy != 0 || st.Idle != 3 {
			t.Errorf("after SetBusy(false): Busy %d, Idle %d; want 0, 3", st.Busy, st.Idle)
		}
	})
}

func TestSnapshotUtilizationRange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := config.Resolve(config.Fixed, nil)
		m := NewMeter(&s, 2, 1)
		m.Worker(0).Start(m.Now())
		m.Worker(1).Start(m.Now())
		for step := range 10 {
			time.Sleep(100 * time.Millisecond)
			m.Worker(step % 2).BusyNanos.Add(uint64(100 * time.Millisecond)) // one of two workers busy
			u := m.Snapshot(2, 0, 1).Utilization
			if u < 0 || u > 1 {
				t.Fatalf("Utilization %v out of [0, 1]", u)
			}
			if u != 0.5 {
				t.Fatalf("step %d: Utilization %v, want 0.5", step, u)
			}
		}
	})
}

// TestHotPathAllocs: what pools call per task or per batch allocates
// nothing.
func TestHotPathAllocs(t *testing.T) {
	s, _ := config.Resolve(config.Fixed, nil)
	m := NewMeter(&s, 2, 2)
	sl := NewSleepers(2)
	err := errors.New("x")
	var sink int
	tests := map[string]func(){
		"Histogram.Record": func() { m.Shards[0].Wait.Record(12345) },
		"Counter.Add":      func() { m.Worker(0).Completed.Add(1) },
		"WorkerMeter.Done": func() { m.Worker(0).Done(err) },
		"WorkerMeter.SetBusy": func() {
			m.Worker(1).SetBusy(true)
			m.Worker(1).SetBusy(false)
		},
		"Meter.CallerDone": func() { m.CallerDone(err, false) },
		"Clock":            func() { sink += int(m.Since(m.Now())) },
		"RandN":            func() { sink += RandN(7) },
		"Sleepers.Wake":    func() { sl.Wake() },
		"Sleepers.Register+Cancel": func() {
			sl.Register(1)
			sl.Cancel(1)
		},
	}
	for name, f := range tests {
		if a := testing.AllocsPerRun(100, f); a != 0 {
			t.Errorf("%s: %v allocations per call, want 0", name, a)
		}
	}
	_ = sink
}

// TestUtilizationLifetimes: utilization is busy time over the time workers
// were alive, so a slot whose worker retired stops counting.
func TestUtilizationLifetimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := config.Resolve(config.Dynamic, nil)
		m := NewMeter(&s, 4, 1)
		m.Worker(0).Start(m.Now())
		m.Worker(1).Start(m.Now())
		time.Sleep(time.Second)
		m.Worker(1).Stop(m.Now()) // alive 1 s
		m.Worker(0).BusyNanos.Add(uint64(time.Second))
		time.Sleep(time.Second) // worker 0 alive 2 s
		if u := m.Snapshot(1, 0, 1).Utilization; u != 1.0/3 {
			t.Fatalf("Utilization = %v, want 1/3 (1 s busy over 3 worker-seconds)", u)
		}
		m.Worker(1).Start(m.Now())
		time.Sleep(time.Second) // 1 + 1 and 3
		if u := m.Snapshot(2, 0, 1).Utilization; u != 1.0/5 {
			t.Fatalf("Utilization = %v, want 1/5", u)
		}
	})
}

// TestIntake: a queue claims counts with CompareAndSwap; after Close no
// claim from a word read before it succeeds, Load hides the mark, and the
// count is what it was.
func TestIntake(t *testing.T) {
	var c Intake
	for want := uint64(0); want < 3; want++ {
		w := c.Raw()
		if w != want || !c.CompareAndSwap(w, w+1) {
			t.Fatalf("claim %d: word %d", want, w)
		}
	}
	c.Add(2) // an owner adding, as the priority pool does
	stale := c.Raw()
	if n := c.Close(); n != 5 {
		t.Fatalf("Close = %d, want 5", n)
	}
	if c.CompareAndSwap(stale, stale+1) {
		t.Fatal("a claim from a word read before Close succeeded")
	}
	if w := c.Raw(); w&IntakeClosed == 0 || c.Load() != 5 {
		t.Fatalf("after Close: Raw = %#x, Load = %d; want the mark and 5", w, c.Load())
	}
	if n := c.Close(); n != 5 {
		t.Fatalf("second Close = %d, want 5", n)
	}
}

// TestStealMetersSnapshot: Local and Forked are derived from the other
// counters; totals are the sums over workers.
func TestStealMetersSnapshot(t *testing.T) {
	set := config.Settings{Metrics: true, SampleEvery: 1}
	m := NewMeter(&set, 2, 1)
	sm := NewStealMeters(2)
	w0, w1 := m.Worker(0), m.Worker(1)
	// Worker 0 ran 10 tasks: 3 from the injector, 1 of them stolen, 2
	// stolen forks, so 5 local forks; one of the 10 panicked.
	w0.Completed.Add(9)
	w0.Panicked.Add(1)
	sm.Workers[0].Injector.Add(2)
	sm.Workers[0].StolenInjector.Add(1)
	sm.Workers[0].StolenForked.Add(2)
	sm.Workers[0].StealAttempts.Add(7)
	sm.Workers[0].Steals.Add(2)
	sm.Workers[0].StolenTasks.Add(5)
	// Worker 1 ran 4 local forks and had 2 forks handed back.
	w1.Completed.Add(4)
	sm.Workers[1].ForkReturned.Add(2)
	sm.ForkToInjector()
	sm.ForkInline()
	sm.ForkInline()

	st := sm.Snapshot(m, 3) // and 3 forks still queued
	want0 := poolrt.StealingWorkerStats{Local: 5, Injector: 2, Stolen: 3, StealAttempts: 7, Steals: 2, StolenTasks: 5}
	want1 := poolrt.StealingWorkerStats{Local: 4}
	if len(st.Workers) != 2 || st.Workers[0] != want0 || st.Workers[1] != want1 {
		t.Fatalf("per worker: %+v, want %+v and %+v", st.Workers, want0, want1)
	}
	// Forks: 5 + 2 started on worker 0, 4 on worker 1, 2 returned, 3 queued.
	if st.Local != 9 || st.Injector != 2 || st.Stolen != 3 || st.Forked != 16 ||
		st.ForkedToInjector != 1 || st.ForkedInline != 2 || st.StealAttempts != 7 || st.Steals != 2 || st.StolenTasks != 5 {
		t.Fatalf("totals: %+v", *st)
	}
	// A task counted as started but still running never makes Local
	// negative.
	sm.Workers[1].Injector.Add(10)
	if st := sm.Snapshot(m, 0); st.Workers[1].Local != 0 {
		t.Fatalf("Local with tasks still running: %d, want 0", st.Workers[1].Local)
	}
}
