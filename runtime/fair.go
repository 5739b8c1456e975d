package poolrt

import (
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// MaxTenantWeight is the largest tenant weight ([TenantWeights],
// [TenantWeight]).
const MaxTenantWeight = config.MaxTenantWeight

// MaxTenantStats bounds [FairStats].Tenants: a snapshot lists at most this
// many tenants, those that used the most worker time.
const MaxTenantStats = 16

// TenantQueueSize bounds the tasks one tenant of a fair pool may have
// queued. A tenant at the limit meets the pool's backpressure ([OnFull]:
// its Submit blocks, or is refused, or runs the task itself) while the
// other tenants' tasks are still accepted, so one tenant flooding the pool
// fills its own queue, not the pool's. [QueueSize] bounds the tasks of all
// tenants together; a TenantQueueSize of QueueSize or more turns the
// tenants' own limits off. The default is QueueSize/8 (at least 1).
func TenantQueueSize(n int) Option {
	text := fmt.Sprintf("TenantQueueSize(%d)", n)
	return config.NewOption(text, config.Fair, func(s *config.Settings) string {
		if n < 1 {
			return "a tenant's queue needs at least 1 slot"
		}
		if n > config.MaxQueueSize {
			return fmt.Sprintf("at most %d slots", config.MaxQueueSize)
		}
		s.Fair.TenantQueue, s.Fair.TenantQueueOption = n, text
		return ""
	})
}

// TenantWeights gives tenants of a fair pool their weights: a tenant of
// weight w gets w/W of the worker time while tenants of total weight W
// have work queued. Tenants not in the map have weight 1. K is the pool's
// tenant type, checked when the pool is created; each weight must be in
// [1, MaxTenantWeight]. The map is copied.
func TenantWeights[K comparable](weights map[K]int) Option {
	text := fmt.Sprintf("TenantWeights(%d tenants)", len(weights))
	copied := make(map[K]int, len(weights))
	for k, w := range weights {
		copied[k] = w
	}
	return config.NewOption(text, config.Fair, func(s *config.Settings) string {
		for k, w := range copied {
			if w < 1 || w > MaxTenantWeight {
				return fmt.Sprintf("tenant %v has weight %d; weights are 1 to %d", k, w, MaxTenantWeight)
			}
		}
		s.Fair.Weights, s.Fair.WeightsOption = copied, text
		return ""
	})
}

// TenantWeight gives tenants of a fair pool their weights through a
// function, called once when a tenant with nothing queued or running
// submits a task (not per task): for tenants too many, or not known
// ahead, for [TenantWeights]. A result below 1 counts as 1, one above
// [MaxTenantWeight] as MaxTenantWeight. K is the pool's tenant type,
// checked when the pool is created. The function runs under the pool's
// lock: it must be quick and must not use the pool. A panic in it is
// contained (Stats.HookPanics) and the tenant gets weight 1.
func TenantWeight[K comparable](weight func(tenant K) int) Option {
	return config.NewOption("TenantWeight(...)", config.Fair, func(s *config.Settings) string {
		if weight == nil {
			return "the weight function is nil"
		}
		s.Fair.WeightFunc, s.Fair.WeightFuncOption = weight, "TenantWeight(...)"
		return ""
	})
}

// FairStats is the fair pool's part of a pool's Stats.
type FairStats struct {
	// Tenants counts the tenants the pool keeps state for: those with
	// tasks queued or running, and those that used more than their share
	// lately (whose debt the pool remembers until the others catch up).
	// Backlogged counts those with tasks queued.
	Tenants, Backlogged int
	// Forgotten counts the tenants whose state the pool dropped, idle and
	// even with the others; a forgotten tenant that submits again starts
	// afresh, exactly where it would have stood.
	Forgotten uint64
	// TenantRejected counts submissions refused, or made to wait or run
	// on the caller, because their tenant's queue was full
	// ([TenantQueueSize]) while the pool had room.
	TenantRejected uint64
	// Top lists at most [MaxTenantStats] of the tenants the pool keeps
	// state for, those that used the most worker time first.
	Top []TenantStats
}

// TenantStats is one tenant of a fair pool, since the pool last took it
// up (see [FairStats].Forgotten).
type TenantStats struct {
	// Tenant is the tenant's key, formatted with fmt.Sprint.
	Tenant string
	Weight int
	// Queued and Running are the tenant's tasks waiting and running now.
	Queued, Running int
	// Submitted counts its tasks queued; Ended those that ran (Completed
	// or Panicked): not those its circuit breaker turned away ([Breaker]),
	// which cost the tenant no worker time.
	Submitted, Ended uint64
	// Busy is the worker time its tasks used, measured (every task, not a
	// sample); Share is Busy over the worker time of every tenant the
	// pool keeps state for ([FairStats].Tenants).
	Busy  time.Duration
	Share float64
}

// String summarizes the section as [Stats.String] prints it: the tenant
// counts, then a line per listed tenant.
func (s FairStats) String() string {
	var t statsText
	s.write(&t)
	return t.String()
}

func (s *FairStats) write(t *statsText) {
	t.line("fair", "tenants "+strconv.Itoa(s.Tenants), "backlogged "+strconv.Itoa(s.Backlogged),
		"forgotten "+u64(s.Forgotten), "tenant-full "+u64(s.TenantRejected))
	for _, ts := range s.Top {
		t.line("", "tenant "+strconv.Quote(ts.Tenant), "weight "+strconv.Itoa(ts.Weight),
			"share "+percent(ts.Share), "busy "+round3(ts.Busy).String(),
			"queued "+strconv.Itoa(ts.Queued), "running "+strconv.Itoa(ts.Running),
			"submitted "+u64(ts.Submitted), "ended "+u64(ts.Ended))
	}
}

func (s *FairStats) logValue() slog.Value {
	return slog.GroupValue(
		slog.Int("tenants", s.Tenants),
		slog.Int("backlogged", s.Backlogged),
		slog.Uint64("forgotten", s.Forgotten),
		slog.Uint64("tenant_rejected", s.TenantRejected),
	)
}
