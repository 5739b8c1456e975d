package poolimpl

import (
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	poolrt "github.com/poolgen/poolgen/runtime"
)

func TestShare(t *testing.T) {
	class := func(floor, cap int) lentClass { return lentClass{floor: floor, cap: cap} }
	cases := []struct {
		name    string
		budget  int
		classes []lentClass
		demand  []int
		want    []int
	}{
		{"idle: spread evenly", 8, []lentClass{class(1, 8), class(1, 8)}, []int{0, 0}, []int{4, 4}},
		{"one busy takes all but the floors", 8, []lentClass{class(1, 8), class(2, 8)}, []int{100, 0}, []int{6, 2}},
		{"both busy: even split", 8, []lentClass{class(1, 8), class(1, 8)}, []int{100, 100}, []int{4, 4}},
		{"demand first, spare after", 10, []lentClass{class(1, 10), class(1, 10)}, []int{3, 100}, []int{3, 7}},
		{"caps hold", 10, []lentClass{class(1, 2), class(1, 3)}, []int{100, 100}, []int{2, 3}},
		{"floor of zero keeps one", 4, []lentClass{class(0, 4), class(0, 4)}, []int{0, 100}, []int{1, 3}},
		{"floor above cap", 4, []lentClass{class(5, 2), class(1, 4)}, []int{0, 0}, []int{2, 2}},
		{"spare round robin after the demand", 6, []lentClass{class(1, 4), class(1, 4)}, []int{2, 0}, []int{4, 2}},
		{"spare up to the caps", 9, []lentClass{class(1, 3), class(1, 4)}, []int{0, 0}, []int{3, 4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := share(tc.budget, tc.classes, tc.demand)
			assert.Equal(t, tc.want, got)
			sum := 0
			for _, n := range got {
				sum += n
			}
			assert.LessOrEqual(t, sum, tc.budget)
		})
	}
}

func TestSumStatsLatency(t *testing.T) {
	lat := func(class int, n uint64, mean time.Duration) poolrt.Latency {
		l := poolrt.Latency{Count: n, Mean: mean, Max: 3 * mean}
		l.Buckets[class] = n
		return l
	}
	// Two classes with observations: counts, means and maxima exact,
	// percentiles the middles of the merged classes.
	fast := poolrt.ClassStats{Stats: poolrt.Stats{Workers: 2, Utilization: 0.5, Wait: lat(1, 90, time.Microsecond), Uptime: time.Second}}
	slow := poolrt.ClassStats{Stats: poolrt.Stats{Workers: 6, Utilization: 1, Wait: lat(11, 10, 1500*time.Microsecond), Uptime: 2 * time.Second}}
	s := SumStats([]poolrt.ClassStats{fast, slow})
	assert.Equal(t, uint64(100), s.Wait.Count)
	assert.Equal(t, (90*time.Microsecond+10*1500*time.Microsecond)/100, s.Wait.Mean)
	assert.Equal(t, 4500*time.Microsecond, s.Wait.Max)
	assert.Equal(t, 1536*time.Nanosecond, s.Wait.P50, "the middle of [1.024µs, 2.048µs)")
	assert.Equal(t, 1024*time.Nanosecond<<10*3/2, s.Wait.P99, "the middle of the slow class's bucket")
	assert.Equal(t, 0.875, s.Utilization, "weighted by workers")
	assert.Equal(t, 2*time.Second, s.Uptime)
	assert.Zero(t, s.Run.Count)
	// One class with observations: its own figures.
	s = SumStats([]poolrt.ClassStats{fast, {}})
	assert.Equal(t, fast.Stats.Wait, s.Wait)
	// The class under 1.024µs.
	sub := poolrt.ClassStats{Stats: poolrt.Stats{Wait: lat(0, 5, 100*time.Nanosecond)}}
	s = SumStats([]poolrt.ClassStats{sub, sub})
	assert.Equal(t, 300*time.Nanosecond, s.Wait.P50, "at most Max")
}

// TestSumStatsEveryCounter: every counter and gauge of Stats is summed
// over the classes, so that a new field SumStats misses fails here, and
// the classes' breaker, resource and affinity sections are merged.
func TestSumStatsEveryCounter(t *testing.T) {
	var one poolrt.Stats
	v := reflect.ValueOf(&one).Elem()
	var summed []string
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch f.Kind() {
		case reflect.Int:
			f.SetInt(1)
		case reflect.Uint64:
			f.SetUint(1)
		case reflect.Bool:
			f.SetBool(true)
		default:
			continue
		}
		summed = append(summed, name)
	}
	one.Breaker = &poolrt.BreakerStats{Opens: 1, FailedFast: 2, Keys: 1, Open: 1,
		States: []poolrt.BreakerKeyState{{Key: "(pool)", State: poolrt.BreakerOpen}}}
	one.Resources = &poolrt.ResourceStats{Open: 1, Unhealthy: 1, Opened: 1, Closed: 1, Failed: 1}
	one.Affinity = &poolrt.AffinityStats{Pinned: 2, CPUs: 2, NUMANodes: 1, PinFailed: 1, CPUTime: time.Second,
		PinnedTime: 4 * time.Second, CPUUtilization: 0.25, WorkerCPU: []time.Duration{time.Second, 0}}
	s := SumStats([]poolrt.ClassStats{{Stats: one}, {Stats: one}})
	assert.Equal(t, &poolrt.ResourceStats{Open: 2, Unhealthy: 2, Opened: 2, Closed: 2, Failed: 2}, s.Resources)
	assert.Equal(t, &poolrt.AffinityStats{Pinned: 4, CPUs: 2, NUMANodes: 1, PinFailed: 2, CPUTime: 2 * time.Second,
		PinnedTime: 8 * time.Second, CPUUtilization: 0.25, WorkerCPU: []time.Duration{time.Second, 0, time.Second, 0}}, s.Affinity)
	assert.Len(t, one.Affinity.WorkerCPU, 2, "the classes' sections are not changed")
	got := reflect.ValueOf(s)
	for _, name := range summed {
		f := got.FieldByName(name)
		switch f.Kind() {
		case reflect.Int:
			assert.Equal(t, int64(2), f.Int(), name)
		case reflect.Uint64:
			assert.Equal(t, uint64(2), f.Uint(), name)
		case reflect.Bool:
			assert.True(t, f.Bool(), name)
		}
	}
	if assert.NotNil(t, s.Breaker) {
		assert.Equal(t, uint64(2), s.Breaker.Opens)
		assert.Equal(t, uint64(4), s.Breaker.FailedFast)
		assert.Equal(t, 2, s.Breaker.Open)
		assert.Len(t, s.Breaker.States, 2)
	}
	assert.Len(t, one.Breaker.States, 1, "the classes' sections are not changed")
}
