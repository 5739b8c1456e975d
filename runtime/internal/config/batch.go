package config

import (
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

// resolveBatch applies the batch pool's defaults and checks its settings
// once every option is applied.
func (s *Settings) resolveBatch(procs int) error {
	if s.Batch.MaxBatch == 0 {
		s.Batch.MaxBatch = DefaultMaxBatch
		if s.Given&GivenQueue != 0 {
			s.Batch.MaxBatch = min(DefaultMaxBatch, s.QueueSize) // a small queue makes small batches
		}
	}
	if s.Given&GivenLinger == 0 {
		s.Batch.Linger = DefaultLinger
	}
	if s.Given&GivenQueue != 0 && s.QueueSize < s.Batch.MaxBatch {
		return &ConfigError{Option: fmt.Sprintf("QueueSize(%d)", s.QueueSize),
			Reason: fmt.Sprintf("smaller than MaxBatch(%d): no batch could ever fill", s.Batch.MaxBatch)}
	}
	return nil
}
