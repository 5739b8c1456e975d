package poolrt

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of the batch pool.
const (
	DefaultMaxBatch = 64
	DefaultLinger   = 5 * time.Millisecond
)

// BatchSettings configures a batch pool.
type BatchSettings struct {
	// MaxBatch is the most tasks a batch holds: a batch reaching it is
	// flushed at once.
	MaxBatch int
	// Linger is the longest a batch waits for more tasks after its first:
	// then it is flushed however small.
	Linger time.Duration
}

// MaxBatch sets the most tasks per batch (default DefaultMaxBatch): a
// batch is handed to the handler as soon as it is full.
func MaxBatch(n int) Option {
	return Option{fmt.Sprintf("MaxBatch(%d)", n), Batch, func(s *Settings) string {
		if n < 1 || n > MaxQueueSize {
			return fmt.Sprintf("a batch holds 1 to %d tasks", MaxQueueSize)
		}
		s.Batch.MaxBatch = n
		return ""
	}}
}

// Linger sets how long a batch waits for more tasks after its first one
// arrived (default DefaultLinger) before it is handed over however small.
// Linger(0) hands over whatever has gathered whenever a worker is free.
func Linger(d time.Duration) Option {
	return Option{fmt.Sprintf("Linger(%v)", d), Batch, func(s *Settings) string {
		if d < 0 {
			return "a linger time cannot be negative"
		}
		s.Batch.Linger, s.set = d, s.set|setLinger
		return ""
	}}
}

// resolveBatch applies the batch pool's defaults and checks its settings
// once every option is applied.
func (s *Settings) resolveBatch(procs int) error {
	if s.Batch.MaxBatch == 0 {
		s.Batch.MaxBatch = DefaultMaxBatch
		if s.set&setQueue != 0 {
			s.Batch.MaxBatch = min(DefaultMaxBatch, s.QueueSize) // a small queue makes small batches
		}
	}
	if s.set&setLinger == 0 {
		s.Batch.Linger = DefaultLinger
	}
	if s.set&setQueue != 0 && s.QueueSize < s.Batch.MaxBatch {
		return &ConfigError{Option: fmt.Sprintf("QueueSize(%d)", s.QueueSize),
			Reason: fmt.Sprintf("smaller than MaxBatch(%d): no batch could ever fill", s.Batch.MaxBatch)}
	}
	return nil
}

// FlushReason says why a batch was handed to the handler.
type FlushReason uint8

const (
	FlushFull     FlushReason = iota // it reached MaxBatch
	FlushLinger                      // its Linger time ran out
	FlushIdle                        // Linger(0): a worker was free
	FlushShutdown                    // the pool shut down
	numFlushReasons
)

func (r FlushReason) String() string {
	switch r {
	case FlushFull:
		return "full"
	case FlushLinger:
		return "linger"
	case FlushIdle:
		return "idle"
	case FlushShutdown:
		return "shutdown"
	}
	return fmt.Sprintf("FlushReason(%d)", uint8(r))
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
	// 2^(i-1) < size ≤ 2^i tasks (Sizes[0]: size 1).
	Sizes    [BatchSizeClasses]uint64
	MeanSize float64
	// Flushes counts batches by the reason they were handed over.
	Full, Linger, Idle, Shutdown uint64
	Open                         int // batches gathering tasks now
	Ready                        int // batches waiting for a worker now
}

// BatchSizeClasses is the number of size classes in BatchStats.Sizes:
// enough for any MaxBatch up to 2^31.
const BatchSizeClasses = 32
