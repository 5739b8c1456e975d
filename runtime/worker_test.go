package poolrt

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestPinReason: on a system without sched_setaffinity the option is
// refused with a reason that names the system.
func TestPinReason(t *testing.T) {
	assert.Empty(t, pinReason(true, "linux"))
	assert.Equal(t, "pinning workers to CPUs needs Linux (sched_setaffinity); this is darwin", pinReason(false, "darwin"))
}
