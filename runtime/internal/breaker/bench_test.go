package breaker

import (
	"testing"
	"time"
)

// BenchmarkClosed measures a closed breaker's admission and a success's
// record, from one goroutine and from all at once: consecutive failures
// only (atomic loads), and with a failure-rate window (a clock read and
// an atomic add more).
func BenchmarkClosed(b *testing.B) {
	for _, c := range []struct {
		name string
		p    Policy
	}{
		{"failures", Policy{Failures: 5, Cooldown: time.Second, Probes: 1}},
		{"window", Policy{Rate: 0.5, MinRequests: 10, Window: 10 * time.Second, Cooldown: time.Second, Probes: 1}},
	} {
		br := NewGroup(c.p).One()
		tk, _ := br.Allow()
		tk.Record(Success) // starts the window's slice
		b.Run(c.name+"/serial", func(b *testing.B) {
			for b.Loop() {
				tk, _ := br.Allow()
				tk.Record(Success)
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					tk, _ := br.Allow()
					tk.Record(Success)
				}
			})
		})
	}
}
