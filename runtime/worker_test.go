package poolrt

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestPinReason: on a system without sched_setaffinity the option is
// refused with a reason that names the system.
func TestPinReason(t *testing.T) {
	assert.Empty(t, pinReason(true, "linux"))
	assert.Equal(t, "pinning workers to CPUs needs Linux (sched_setaffinity); this is darwin", pinReason(false, "darwin"))
}

// TestWorkerSectionsText: Stats prints and logs the worker sections when
// they are there.
func TestWorkerSectionsText(t *testing.T) {
	st := Stats{
		Affinity:  &AffinityStats{Pinned: 2, CPUs: 4, NUMANodes: 2, CPUTime: 1500 * time.Millisecond, CPUUtilization: 0.5, PinFailed: 1},
		Resources: &ResourceStats{Open: 3, Unhealthy: 1, Opened: 5, Closed: 2, Failed: 7},
	}
	text := st.String()
	assert.Contains(t, text, "\naffinity pinned 2 on 4 CPUs, 2 NUMA nodes, CPU time 1.5s, CPU utilization 50.0%, pin failed 1\n")
	assert.Contains(t, text, "\nresources open 3, unhealthy 1, opened 5, closed 2, failed opens 7")
	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("pool", "stats", st)
	assert.Contains(t, buf.String(), "stats.affinity.pinned=2")
	assert.Contains(t, buf.String(), "stats.affinity.cpu_time=1.5s")
	assert.Contains(t, buf.String(), "stats.resources.unhealthy=1")
	assert.Contains(t, buf.String(), "stats.resources.failed=7")
	assert.NotContains(t, Stats{}.String(), "affinity")
}
