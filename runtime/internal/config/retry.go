package config

import (
	"log/slog"
	"reflect"
	"time"
)

// RetrySettings is a pool's retry policy (poolrt.Retry); MaxAttempts 0
// means none: a failed task ends at once.
type RetrySettings struct {
	MaxAttempts int
	Initial     time.Duration
	Max         time.Duration
	Multiplier  float64
	Retryable   func(error) bool
}

// AttemptKey is the context key under which a worker's context answers
// the running task's attempt number (poolrt.Attempt).
type AttemptKey struct{}

// Letters reports whether the pool dead-letters the tasks that fail for
// good: it has a retry policy or a dead-letter handler.
func (s *Settings) Letters() bool { return s.Retry.MaxAttempts != 0 || s.DeadLetter != nil }

// DeadLettered logs a task that ended failed with no dead-letter handler
// to take it: rate-limited, like a failure.
func (s *Settings) DeadLettered(task any, err error, attempts int) {
	s.log(slog.LevelWarn, "poolgen: task dead-lettered", reflect.TypeOf(task), "error", err, "attempts", attempts)
}
