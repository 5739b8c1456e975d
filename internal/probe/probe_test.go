package probe_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/poolgen/poolgen/internal/probe"
)

func TestBehaviors(t *testing.T) {
	ctl := probe.New(6)
	ctl.Set(1, probe.Fail)
	ctl.Set(2, probe.Panic)
	ctl.Set(3, probe.Goexit)
	ctl.SetFunc(4, func(ctx context.Context) error { return context.Canceled })
	ctx := context.Background()

	if err := ctl.Run(ctx, 0); err != nil {
		t.Errorf("Succeed: %v", err)
	}
	if err := ctl.Run(ctx, 1); !errors.Is(err, probe.ErrProbe) {
		t.Errorf("Fail: %v", err)
	}
	func() {
		defer func() {
			if v := recover(); v != probe.ErrProbe {
				t.Errorf("Panic: recovered %v", v)
			}
		}()
		ctl.Run(ctx, 2)
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctl.Run(ctx, 3)
		t.Error("Goexit: Run returned")
	}()
	<-done
	if err := ctl.Run(ctx, 4); err != context.Canceled {
		t.Errorf("Call: %v", err)
	}
	if got, want := ctl.Order(), []int{0, 1, 2, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("Order() = %v, want %v", got, want)
	}
	if ctl.Total() != 5 || ctl.Ended() != 5 {
		t.Errorf("Total, Ended = %d, %d; want 5, 5", ctl.Total(), ctl.Ended())
	}
	for id, want := range []int{1, 1, 1, 1, 1, 0} {
		if got := ctl.Runs(id); got != want {
			t.Errorf("Runs(%d) = %d, want %d", id, got, want)
		}
	}
}

func TestBlockAndHold(t *testing.T) {
	ctl := probe.New(3)
	ctl.Set(0, probe.Block)
	release := ctl.Hold(1)
	ctl.Set(2, probe.Block)
	errs := make(chan error, 3)
	for id := range 2 {
		go func() { errs <- ctl.Run(context.Background(), id) }()
	}
	started := map[int]bool{<-ctl.Started(): true, <-ctl.Started(): true}
	if !started[0] || !started[1] {
		t.Fatalf("started %v, want 0 and 1", started)
	}
	release()
	release() // idempotent
	if err := <-errs; err != nil {
		t.Errorf("held task: %v", err)
	}
	if ctl.Ended() != 1 {
		t.Errorf("Ended() = %d after releasing one task", ctl.Ended())
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { errs <- ctl.Run(ctx, 2) }()
	<-ctl.Started()
	cancel()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Errorf("blocked task whose context was canceled: %v", err)
	}
	ctl.Release()
	ctl.Release()
	if err := <-errs; err != nil {
		t.Errorf("released task: %v", err)
	}
}

func TestRunAllocs(t *testing.T) {
	ctl := probe.New(1 << 10)
	ctx := context.Background()
	id := 0
	if n := testing.AllocsPerRun(100, func() { ctl.Run(ctx, id); id++ }); n != 0 {
		t.Errorf("Run allocates %v times", n)
	}
}
