package poolrt

import (
	"errors"
	"strings"
	"testing"
)

func TestDequeSize(t *testing.T) {
	for _, n := range []int{1, 2, 64, DefaultDequeSize, MaxDequeSize} {
		s, err := Resolve(Stealing, []Option{DequeSize(n)})
		if err != nil || s.Stealing.DequeSize != n {
			t.Errorf("DequeSize(%d): %v, size %d", n, err, s.Stealing.DequeSize)
		}
	}
	s, err := Resolve(Stealing, nil)
	if err != nil || s.Stealing.DequeSize != DefaultDequeSize {
		t.Errorf("default DequeSize: %v, %d; want %d", err, s.Stealing.DequeSize, DefaultDequeSize)
	}
	bad := map[int]string{
		0:                "at least 1",
		-4:               "at least 1",
		3:                "power of two, such as 2 or 4",
		100:              "power of two, such as 64 or 128",
		MaxDequeSize + 1: "at most",
		2 * MaxDequeSize: "at most",
	}
	for n, reason := range bad {
		_, err := Resolve(Stealing, []Option{DequeSize(n)})
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(ce.Reason, reason) || ce.Option != DequeSize(n).String() {
			t.Errorf("DequeSize(%d): %v, want a ConfigError saying %q", n, err, reason)
		}
	}
	for _, p := range []Pattern{Fixed, Dynamic, Priority, Batch} {
		var ce *ConfigError
		if _, err := Resolve(p, []Option{DequeSize(8)}); !errors.As(err, &ce) {
			t.Errorf("DequeSize for the %v pool: %v, want a ConfigError", p, err)
		}
	}
}
