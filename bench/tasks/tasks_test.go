package tasks

import (
	"context"
	"testing"
	"time"
)

func TestRunCountsOnce(t *testing.T) {
	c := new(Counter)
	ctx := context.Background()
	if err := (Tiny{C: c}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := NewSpin1us(c).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.Load(); got != 2 {
		t.Fatalf("count = %d after two runs, want 2", got)
	}
}

// TestSpinCalibration checks the calibration is sane: some rounds, and a
// best-of-several Run within a wide band around SpinTarget (wide because
// the machines it runs on are shared and noisy).
func TestSpinCalibration(t *testing.T) {
	n := SpinRounds()
	if n < 1 || n != SpinRounds() {
		t.Fatalf("SpinRounds() = %d, then %d: want a positive, stable value", n, SpinRounds())
	}
	const runs = 1000
	task := NewSpin1us(new(Counter))
	ctx := context.Background()
	best := time.Duration(1<<63 - 1)
	for range 5 {
		start := time.Now()
		for range runs {
			_ = task.Run(ctx)
		}
		best = min(best, time.Since(start)/runs)
	}
	if best < SpinTarget/4 || best > 4*SpinTarget {
		t.Errorf("a Spin1us task took %v at best (%d rounds), want about %v", best, n, SpinTarget)
	}
}
