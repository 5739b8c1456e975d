package poolrt

import (
	"errors"
	"strings"
	"testing"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

func TestDequeSize(t *testing.T) {
	for _, n := range []int{1, 2, 64, 256, (1 << 24)} {
		s, err := config.Resolve(config.Stealing, []Option{DequeSize(n)})
		if err != nil || s.Stealing.DequeSize != n {
			t.Errorf("DequeSize(%d): %v, size %d", n, err, s.Stealing.DequeSize)
		}
	}
	s, err := config.Resolve(config.Stealing, nil)
	if err != nil || s.Stealing.DequeSize != 256 {
		t.Errorf("default DequeSize: %v, %d; want %d", err, s.Stealing.DequeSize, 256)
	}
	bad := map[int]string{
		0:             "at least 1",
		-4:            "at least 1",
		3:             "power of two, such as 2 or 4",
		100:           "power of two, such as 64 or 128",
		(1 << 24) + 1: "at most",
		2 * (1 << 24): "at most",
	}
	for n, reason := range bad {
		_, err := config.Resolve(config.Stealing, []Option{DequeSize(n)})
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(ce.Reason, reason) || ce.Option != DequeSize(n).String() {
			t.Errorf("DequeSize(%d): %v, want a ConfigError saying %q", n, err, reason)
		}
	}
	for _, p := range []config.Pattern{config.Fixed, config.Dynamic, config.Priority, config.Batch} {
		var ce *ConfigError
		if _, err := config.Resolve(p, []Option{DequeSize(8)}); !errors.As(err, &ce) {
			t.Errorf("DequeSize for the %v pool: %v, want a ConfigError", p, err)
		}
	}
}
