package poolimpl

import (
	"math"
	"math/rand/v2"
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
		{"both busy alike: even split", 8, []lentClass{class(1, 8), class(1, 8)}, []int{100, 100}, []int{4, 4}},
		{"backlogs 3:1 split 3:1 above the floors", 10, []lentClass{class(1, 100), class(1, 100)}, []int{31, 11}, []int{7, 3}},
		{"by backlog, not by cap", 16, []lentClass{class(2, 16), class(2, 16)}, []int{3002, 1002}, []int{11, 5}},
		{"short budget: the small backlog gets its share", 10, []lentClass{class(1, 10), class(1, 10)}, []int{3, 100}, []int{1, 9}},
		{"a class capped below its share: the rest to the others", 12, []lentClass{class(1, 3), class(1, 100), class(1, 100)},
			[]int{1000, 20, 20}, []int{3, 5, 4}},
		{"remainders to the lower route among equals", 5, []lentClass{class(1, 100), class(1, 100), class(1, 100)},
			[]int{10, 10, 10}, []int{2, 2, 1}},
		{"budget covers the demand: all of it, spare after", 10, []lentClass{class(1, 10), class(1, 10)}, []int{3, 5}, []int{4, 6}},
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

// TestShareInvariants checks share over many random inputs: the limits
// stay within the budget, the floors and the caps; a budget that covers
// every class's demand gives each at least its demand; and when it does
// not, two classes below their caps and above their floors hold workers
// above their floors in proportion to their backlogs above their floors,
// within one worker.
func TestShareInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		n := 1 + rng.IntN(4)
		classes := make([]lentClass, n)
		demand := make([]int, n)
		floors := 0
		for i := range classes {
			classes[i] = lentClass{floor: rng.IntN(3), cap: 1 + rng.IntN(20)}
			floors += min(max(classes[i].floor, 1), classes[i].cap)
			demand[i] = rng.IntN(4) * rng.IntN(200)
		}
		budget := floors + rng.IntN(30)
		got := share(budget, classes, demand)
		sum, wantAll := 0, 0
		for i, c := range classes {
			floor := min(max(c.floor, 1), c.cap)
			sum += got[i]
			wantAll += c.want - floor
			if got[i] < floor || got[i] > c.cap {
				t.Fatalf("share(%d, %+v, %v) = %v: class %d outside %d..%d", budget, classes, demand, got, i, floor, c.cap)
			}
		}
		if sum > budget {
			t.Fatalf("share(%d, %+v, %v) = %v: over the budget", budget, classes, demand, got)
		}
		if wantAll <= budget-floors {
			for i, c := range classes {
				if got[i] < c.want {
					t.Fatalf("share(%d, %+v, %v) = %v: class %d below its demand with the budget to spare", budget, classes, demand, got, i)
				}
			}
			continue
		}
		for i := range classes {
			for j := range classes {
				ci, cj := classes[i], classes[j]
				fi, fj := min(max(ci.floor, 1), ci.cap), min(max(cj.floor, 1), cj.cap)
				if i == j || got[i] >= ci.want || got[j] >= cj.want || demand[i] <= fi || demand[j] <= fj {
					continue
				}
				// got-floor = k·(demand-floor) + e, |e| < 1: the cross
				// products differ by less than the two backlogs.
				wi, wj := float64(demand[i]-fi), float64(demand[j]-fj)
				if d := float64(got[i]-fi)*wj - float64(got[j]-fj)*wi; math.Abs(d) >= wi+wj {
					t.Fatalf("share(%d, %+v, %v) = %v: classes %d and %d not in proportion to their backlogs", budget, classes, demand, got, i, j)
				}
			}
		}
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
