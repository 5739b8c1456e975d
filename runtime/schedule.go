package poolrt

import (
	"log/slog"
	"strconv"
)

// ScheduledStats is the section of [Stats] for the tasks submitted with
// SubmitAfter or SubmitAt for a later time, nil for a pool that never
// scheduled one.
//
// Every scheduled task ends in exactly one of Fired, Canceled and
// Returned, or is still Pending:
//
//	Scheduled = Pending + Fired + Canceled + Returned
//
// A fired task was accepted by the pool at its due time: from then on it
// is in Stats.Submitted and ends as any submitted task.
type ScheduledStats struct {
	// Scheduled counts the tasks accepted for a later time.
	Scheduled uint64
	// Pending counts those not yet handed to the pool: waiting for their
	// time, or due and waiting for room.
	Pending int
	// Fired counts those handed to the pool at their due time.
	Fired uint64
	// Canceled counts those that never reached the pool: pending at
	// Shutdown, or refused by the pool at their due time for a reason
	// other than a full queue (a circuit breaker, load shedding). Each
	// went to the pool's dead-letter handler ([OnDeadLetter]) with the
	// reason (ErrClosed at Shutdown) and 0 attempts.
	Canceled uint64
	// Returned counts those ShutdownNow returned.
	Returned uint64
	// Limit is the most tasks that may be pending at once: a schedule
	// past it is refused with ErrQueueFull.
	Limit int
}

// String summarizes the section as [Stats.String] prints it.
func (s ScheduledStats) String() string {
	var t statsText
	s.write(&t)
	return t.String()
}

// write adds the section's line to a Stats summary.
func (s *ScheduledStats) write(t *statsText) {
	t.line("scheduled", "scheduled "+u64(s.Scheduled),
		"pending "+strconv.Itoa(s.Pending)+" (limit "+strconv.Itoa(s.Limit)+")",
		"fired "+u64(s.Fired), "canceled "+u64(s.Canceled), "returned "+u64(s.Returned))
}

func (s *ScheduledStats) logValue() slog.Value {
	return slog.GroupValue(
		slog.Uint64("scheduled", s.Scheduled),
		slog.Int("pending", s.Pending),
		slog.Uint64("fired", s.Fired),
		slog.Uint64("canceled", s.Canceled),
		slog.Uint64("returned", s.Returned),
		slog.Int("limit", s.Limit),
	)
}
