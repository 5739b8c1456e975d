package poolrt

import (
	"errors"
	"strings"
	"testing"
)

func TestDequeSize(t *testing.T) {
	for _, n := range []int{1, 2, 64, DefaultDequeSize, MaxDequeSize} {
		s, err := Resolve(Stealing, []Option{DequeSize(n)})
		if err != nil || s.Stealing.DequeSize != n {
			t.Errorf("DequeSize(%d): %v, size %d", n, err, s.Stealing.DequeSize)
		}
	}
	s, err := Resolve(Stealing, nil)
	if err != nil || s.Stealing.DequeSize != DefaultDequeSize {
		t.Errorf("default DequeSize: %v, %d; want %d", err, s.Stealing.DequeSize, DefaultDequeSize)
	}
	bad := map[int]string{
		0:                "at least 1",
		-4:               "at least 1",
		3:                "power of two, such as 2 or 4",
		100:              "power of two, such as 64 or 128",
		MaxDequeSize + 1: "at most",
		2 * MaxDequeSize: "at most",
	}
	for n, reason := range bad {
		_, err := Resolve(Stealing, []Option{DequeSize(n)})
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(ce.Reason, reason) || ce.Option != DequeSize(n).String() {
			t.Errorf("DequeSize(%d): %v, want a ConfigError saying %q", n, err, reason)
		}
	}
	for _, p := range []Pattern{Fixed, Dynamic, Priority, Batch} {
		var ce *ConfigError
		if _, err := Resolve(p, []Option{DequeSize(8)}); !errors.As(err, &ce) {
			t.Errorf("DequeSize for the %v pool: %v, want a ConfigError", p, err)
		}
	}
}

// TestStealMetersSnapshot: Local and Forked are derived from the other
// counters; totals are the sums over workers.
func TestStealMetersSnapshot(t *testing.T) {
	set := Settings{Metrics: true, SampleEvery: 1}
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
	want0 := StealingWorkerStats{Local: 5, Injector: 2, Stolen: 3, StealAttempts: 7, Steals: 2, StolenTasks: 5}
	want1 := StealingWorkerStats{Local: 4}
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
