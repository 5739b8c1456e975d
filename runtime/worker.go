package poolrt

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"strconv"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// PinWorkers pins each worker to an OS thread and that thread to one CPU,
// on Linux: the worker goroutine calls runtime.LockOSThread as it starts,
// and sched_setaffinity then binds its thread to a CPU of the process's
// affinity mask (read when the pool is created). Workers are spread over
// those CPUs round robin, alternating between NUMA nodes
// (/sys/devices/system/node) so that consecutive workers land on
// different nodes. Memory follows the kernel's first-touch policy: what a
// pinned worker allocates and writes first is placed on its node; the
// pool's queue, allocated when the pool is created, is on the creator's.
//
// A pinned worker's thread is its own: waking a parked pinned worker
// hands the processor over to its thread, which costs more than waking an
// unpinned one (see docs/PERFORMANCE.md). Pinning is for tasks that must
// not migrate, or that keep a large per-worker working set in a CPU's
// cache; measure before relying on the latter, which the 2-vCPU machine
// of docs/PERFORMANCE.md did not show. Each pinned worker holds an OS thread of its own, so a pool
// of many more workers than CPUs makes as many threads, several to a CPU
// (Go's limit is 10,000; runtime/debug.SetMaxThreads). A worker that
// exits (a dynamic pool scaling down, a task's panic replacing its
// goroutine, shutdown) exits still locked, and its thread ends with it. Stats.Affinity reports the pinned workers' CPU
// time.
//
// On other systems the pool's constructor returns a [*ConfigError].
func PinWorkers() Option {
	return config.NewOption("PinWorkers()", config.AllPatterns, func(s *config.Settings) string {
		if reason := pinReason(config.PinSupported, runtime.GOOS); reason != "" {
			return reason
		}
		s.Worker.Pin = true
		return ""
	})
}

// WorkerResource gives each worker a resource of type R — a connection, a
// client, a buffer — that open opens as the worker goroutine starts and
// close closes as it ends: when the worker retires (a dynamic pool scaling
// down), when the pool has shut down, and when a task's panic ends the
// worker's goroutine, whose replacement opens a fresh one (a task that
// panicked may have left the resource in an unknown state, half through a
// request). Every resource open returned is closed exactly once, before
// Shutdown returns nil (not when its context ends first) or ShutdownNow
// returns. A task's Run reads its worker's resource with [Resource].
//
// open is given a context that ends with ShutdownNow. When it fails, the
// worker counts as unhealthy (Stats.Resources) and tries again after a
// backoff (10ms, doubling up to 1s) while the other workers go on
// serving; it gives up when the pool stops (ShutdownNow), when a dynamic
// pool retires it, or when Shutdown is draining the pool and either
// another worker has its resource open or nothing is left to run. If no
// worker can open its resource, tasks wait in the queue: Shutdown waits
// for them (until its context ends), and ShutdownNow returns them. A
// panic in open counts as a failure, a panic in close as a hook panic
// (Stats.HookPanics); close is not called for a failed open.
//
// A task run on its submitter's goroutine would have no worker resource:
// the option cannot be combined with OnFull(CallerRuns).
func WorkerResource[R any](open func(ctx context.Context) (R, error), close func(R)) Option {
	name := reflect.TypeFor[R]().String()
	text := "WorkerResource[" + name + "](...)"
	return config.NewOption(text, config.AllPatterns, func(s *config.Settings) string {
		if open == nil || close == nil {
			return "open and close must not be nil"
		}
		s.Worker.Resource = &config.ResourceSettings{
			Type:  name,
			Open:  func(ctx context.Context) (any, error) { return open(ctx) },
			Close: func(r any) { close(r.(R)) },
		}
		return ""
	})
}

// Resource returns the resource of type R (see [WorkerResource]) of the
// worker whose task's Run was given ctx, or a context derived from it,
// and true; the zero R and false for a context from elsewhere, or if R is
// not the resource's type. It allocates nothing and looks nothing up in a
// map: the worker's context answers the resource itself.
func Resource[R any](ctx context.Context) (R, bool) {
	r, ok := ctx.Value(config.ResourceKey{}).(R)
	return r, ok
}

// AffinityStats is the section of Stats for a pool with [PinWorkers].
type AffinityStats struct {
	Pinned    int // workers pinned to a CPU now
	CPUs      int // the CPUs workers are spread over (the process's affinity mask)
	NUMANodes int // the NUMA nodes those CPUs belong to
	// PinFailed counts workers whose thread could not be bound to its CPU
	// (the CPU left the process's affinity mask since the pool was
	// created); they run locked to their thread, unbound.
	PinFailed uint64
	// CPUTime is the CPU time the pinned workers' threads used while
	// pinned, those that exited included; PinnedTime, the wall time they
	// were pinned, summed over the workers. CPUUtilization is their
	// ratio: the fraction of its CPU a pinned worker kept busy.
	CPUTime        time.Duration
	PinnedTime     time.Duration
	CPUUtilization float64
	// WorkerCPU is CPUTime by worker slot.
	WorkerCPU []time.Duration
}

// ResourceStats is the section of Stats for a pool with
// [WorkerResource].
type ResourceStats struct {
	Open      int    // resources open now
	Unhealthy int    // workers whose resource failed to open, trying again
	Opened    uint64 // successful opens
	Closed    uint64 // closes (open and closed differ by Open)
	Failed    uint64 // failed opens (a panic in open included)
}

// pinReason returns why workers cannot be pinned on system goos, which
// supports pinning or not, or "".
func pinReason(supported bool, goos string) string {
	if supported {
		return ""
	}
	return fmt.Sprintf("pinning workers to CPUs needs Linux (sched_setaffinity); this is %s", goos)
}

// write adds the section's line to a Stats summary.
func (s *AffinityStats) write(t *statsText) {
	t.line("affinity", "pinned "+strconv.Itoa(s.Pinned)+" on "+strconv.Itoa(s.CPUs)+" CPUs, "+
		strconv.Itoa(s.NUMANodes)+" NUMA nodes", "CPU time "+round3(s.CPUTime).String(),
		"CPU utilization "+percent(s.CPUUtilization), "pin failed "+u64(s.PinFailed))
}

func (s *AffinityStats) logValue() slog.Value {
	return slog.GroupValue(
		slog.Int("pinned", s.Pinned),
		slog.Int("cpus", s.CPUs),
		slog.Int("numa_nodes", s.NUMANodes),
		slog.Uint64("pin_failed", s.PinFailed),
		slog.Duration("cpu_time", s.CPUTime),
		slog.Float64("cpu_utilization", s.CPUUtilization),
	)
}

// write adds the section's line to a Stats summary.
func (s *ResourceStats) write(t *statsText) {
	t.line("resources", "open "+strconv.Itoa(s.Open), "unhealthy "+strconv.Itoa(s.Unhealthy),
		"opened "+u64(s.Opened), "closed "+u64(s.Closed), "failed opens "+u64(s.Failed))
}

func (s *ResourceStats) logValue() slog.Value {
	return slog.GroupValue(
		slog.Int("open", s.Open),
		slog.Int("unhealthy", s.Unhealthy),
		slog.Uint64("opened", s.Opened),
		slog.Uint64("closed", s.Closed),
		slog.Uint64("failed", s.Failed),
	)
}
