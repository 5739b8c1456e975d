package poolrt

import (
	"fmt"
	"math/bits"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// DequeSize sets the capacity of each worker's deque in a work-stealing
// pool (default 256). n must be a power of two between 1
// and 2^24. The deques hold the subtasks tasks fork (see the
// pool's Fork) and batches workers move from the shared queue; their
// slots are allocated up front, size of the task + 16 bytes each. A
// forked subtask that does not fit goes to the shared queue, or runs at
// once on the forking goroutine if that is full too.
func DequeSize(n int) Option {
	return config.NewOption(fmt.Sprintf("DequeSize(%d)", n), config.Stealing, func(s *config.Settings) string {
		switch {
		case n < 1:
			return "a deque needs room for at least 1 task"
		case n > config.MaxDequeSize:
			return fmt.Sprintf("at most %d slots", config.MaxDequeSize)
		case n&(n-1) != 0:
			lo := 1 << (bits.Len(uint(n)) - 1)
			return fmt.Sprintf("the size must be a power of two, such as %d or %d", lo, 2*lo)
		}
		s.Stealing.DequeSize = n
		return ""
	})
}

// StealingStats is the stealing-specific part of a pool's Stats. Totals
// are the sums over Workers. A task counts where the worker that ran it
// found it:
//
//   - Local: in the worker's own deque, forked there by a task it ran (or
//     by a goroutine of one);
//   - Injector: in the shared queue that Submit feeds (short tasks are
//     taken in a batch into the worker's deque first; see BatchBudget);
//   - Stolen: in another worker's deque.
//
// Local + Injector + Stolen is the number of tasks workers started; tasks
// run on a submitter's goroutine (Stats.CallerRuns) and forks run inline
// (ForkedInline) are not in it. The counters are read one by one while
// the pool runs, and Local and Forked are derived from the others, so the
// figures agree exactly only once the pool is at rest.
type StealingStats struct {
	Local    uint64
	Injector uint64
	Stolen   uint64

	// StealAttempts counts other workers' deques an idle worker looked
	// into; Steals those it took tasks from, and StolenTasks the tasks it
	// took (about half of what the victim held, each time).
	StealAttempts uint64
	Steals        uint64
	StolenTasks   uint64

	// Forked counts subtasks Fork pushed onto a worker's deque.
	// ForkedToInjector counts forks that went to the shared queue instead
	// (the deque was full, or another goroutine was pushing onto it at
	// that instant); they are also in Stats.Submitted. ForkedInline
	// counts forks that ran at once on the forking goroutine because the
	// shared queue was full or closed (Shutdown) too.
	Forked           uint64
	ForkedToInjector uint64
	ForkedInline     uint64

	// Workers holds the per-worker counters, by worker slot.
	Workers []StealingWorkerStats
}

// StealingWorkerStats is one worker slot's part of [StealingStats].
type StealingWorkerStats struct {
	Local, Injector, Stolen            uint64
	StealAttempts, Steals, StolenTasks uint64
}
