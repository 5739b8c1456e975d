package poolrt

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

func TestClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := config.NewClock()
		if got := c.Now(); got != 1 {
			t.Fatalf("Now() at the epoch = %d, want 1 (zero means untimed)", got)
		}
		if got := c.Uptime(); got != 0 {
			t.Fatalf("Uptime() at the epoch = %v, want 0", got)
		}
		time.Sleep(1500 * time.Millisecond)
		stamp := c.Now()
		if stamp != int64(1500*time.Millisecond)+1 {
			t.Fatalf("Now() = %d, want %d", stamp, int64(1500*time.Millisecond)+1)
		}
		time.Sleep(250 * time.Millisecond)
		if got := c.Since(stamp); got != 250*time.Millisecond {
			t.Fatalf("Since = %v, want 250ms", got)
		}
		if got := c.Uptime(); got != 1750*time.Millisecond {
			t.Fatalf("Uptime = %v, want 1.75s", got)
		}
		if got := c.Since(c.Now()); got != 0 {
			t.Fatalf("Since(Now()) = %v, want 0", got)
		}
	})
}
