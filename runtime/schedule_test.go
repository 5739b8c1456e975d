package poolrt

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestScheduledStatsText: the section prints its counts, in Stats.String
// and its log value.
func TestScheduledStatsText(t *testing.T) {
	sc := ScheduledStats{Scheduled: 9, Pending: 2, Fired: 4, Canceled: 2, Returned: 1, Limit: 64}
	want := "scheduled 9, pending 2 (limit 64), fired 4, canceled 2, returned 1"
	assert.Contains(t, sc.String(), want)
	st := Stats{Scheduled: &sc}
	assert.Contains(t, st.String(), want)
	assert.NotContains(t, Stats{}.String(), "scheduled", "no section without scheduled tasks")

	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("pool", "stats", st)
	assert.Contains(t, b.String(), "stats.scheduled.scheduled=9 stats.scheduled.pending=2 stats.scheduled.fired=4 stats.scheduled.canceled=2 stats.scheduled.returned=1 stats.scheduled.limit=64")
}
