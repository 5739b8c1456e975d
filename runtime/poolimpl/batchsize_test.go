package poolimpl

import (
	"testing"
	"time"
)

func TestRunMeanBatch(t *testing.T) {
	const limit = 32
	var r RunMean
	if got := r.Batch(0, limit); got != limit {
		t.Errorf("untimed pool: Batch = %d, want %d", got, limit)
	}
	if got := r.Batch(1, limit); got != 1 {
		t.Errorf("no task timed yet: Batch = %d, want 1", got)
	}
	r.Record(time.Microsecond)
	if got := r.Batch(1, limit); got != 10 {
		t.Errorf("1 µs tasks: Batch = %d, want 10", got)
	}
	for range 40 { // the average follows tasks that got longer
		r.Record(50 * time.Microsecond)
	}
	if got := r.Batch(16, limit); got != 1 {
		t.Errorf("50 µs tasks: Batch = %d, want 1", got)
	}
	for range 40 {
		r.Record(0) // too short for the clock: counts as 1 ns
	}
	if got := r.Batch(16, limit); got != limit {
		t.Errorf("tiny tasks: Batch = %d, want %d", got, limit)
	}
	if got := r.Batch(16, 4); got != 4 {
		t.Errorf("tiny tasks, limit 4: Batch = %d, want 4", got)
	}
}
