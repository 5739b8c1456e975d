package poolrt

import (
	"errors"
	"fmt"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// MaxBatch sets the most tasks per batch (default 64): a
// batch is handed to the handler as soon as it is full.
func MaxBatch(n int) Option {
	return config.NewOption(fmt.Sprintf("MaxBatch(%d)", n), config.Batch, func(s *config.Settings) string {
		if n < 1 || n > config.MaxQueueSize {
			return fmt.Sprintf("a batch holds 1 to %d tasks", config.MaxQueueSize)
		}
		s.Batch.MaxBatch = n
		return ""
	})
}

// Linger sets how long a batch waits for more tasks after its first one
// arrived (default 5ms) before it is handed over however small.
// Linger(0) hands over whatever has gathered whenever a worker is free.
func Linger(d time.Duration) Option {
	return config.NewOption(fmt.Sprintf("Linger(%v)", d), config.Batch, func(s *config.Settings) string {
		if d < 0 {
			return "a linger time cannot be negative"
		}
		s.Batch.Linger, s.Given = d, s.Given|config.GivenLinger
		return ""
	})
}

// ErrBatchFailed is wrapped by every *BatchError.
var ErrBatchFailed = errors.New("poolgen: batch failed")

// BatchError reports a batch whose handler returned an error: the error,
// and a copy of the batch's tasks (the pool reuses its slice), so that no
// task is dropped silently. It is passed to the OnError handler.
type BatchError struct {
	Err   error
	Tasks any // []T: a copy of the batch
	Size  int
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("poolgen: batch of %d failed: %v", e.Size, e.Err)
}

// Unwrap returns the handler's error and ErrBatchFailed.
func (e *BatchError) Unwrap() []error { return []error{e.Err, ErrBatchFailed} }

// BatchStats is the batch-specific part of a pool's Stats.
type BatchStats struct {
	Batches uint64 // batches handed to the handler
	Failed  uint64 // batches whose handler returned an error or panicked
	// Sizes counts batches by size class: Sizes[i] counts batches of
	// 2^(i-1) < size ≤ 2^i tasks (Sizes[0]: size 1); 32 classes cover any
	// MaxBatch.
	Sizes    [32]uint64
	MeanSize float64
	// Flushes counts batches by the reason they were handed over.
	Full, Linger, Idle, Shutdown uint64
	Open                         int // batches gathering tasks now
	Ready                        int // batches waiting for a worker now
}
