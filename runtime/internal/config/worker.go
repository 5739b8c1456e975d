package config

import (
	"context"
	"log/slog"
	"time"
)

// WorkerSettings is what a pool does when each of its worker goroutines
// starts and ends: pin it to a CPU (poolrt.PinWorkers) and open a
// resource for it (poolrt.WorkerResource).
type WorkerSettings struct {
	// Pin locks each worker to an OS thread pinned to one CPU.
	Pin bool
	// Resource opens and closes a worker's resource; nil when none.
	Resource *ResourceSettings
}

// ResourceSettings holds a worker resource's open and close functions,
// typed by poolrt.WorkerResource and held here as funcs of any, since
// options are not generic.
type ResourceSettings struct {
	// Type names the resource's type, for messages.
	Type  string
	Open  func(ctx context.Context) (any, error)
	Close func(any)
}

// ResourceKey is the context key under which a worker's context answers
// its resource (poolrt.Resource).
type ResourceKey struct{}

// resolveWorker checks the worker settings against the others.
func (s *Settings) resolveWorker() error {
	if s.Worker.Resource != nil && s.Backpressure == CallerRuns {
		// A task run on its submitter's goroutine has no worker, and so
		// no resource: every task must run on a worker.
		return &ConfigError{Option: "WorkerResource[" + s.Worker.Resource.Type + "](...)",
			Reason: "OnFull(CallerRuns) runs tasks on the submitter's goroutine, which has no worker resource; use Block or Reject"}
	}
	return nil
}

// ResourceFailed logs, rate-limited, that a worker's resource failed to
// open with err, and that the worker tries again after retry.
func (s *Settings) ResourceFailed(err error, retry time.Duration) {
	s.log(slog.LevelWarn, "poolgen: worker resource failed to open; the worker tries again", nil, "error", err, "retry", retry)
}
