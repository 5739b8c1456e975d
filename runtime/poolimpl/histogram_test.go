package poolimpl

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// lastLo is the lowest value of the last bucket, which also holds every
// value from 2^maxExp up.
const lastLo = (2*subBuckets - 1) << (maxExp - 1 - subBits)

func TestBucketBoundsContiguous(t *testing.T) {
	var next uint64 // the lowest value the next bucket must start at
	for i := range numBuckets {
		lo, w := bucketBounds(i)
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d (buckets must tile [0, 2^%d) in order)", i, lo, next, maxExp)
		}
		if w == 0 {
			t.Fatalf("bucket %d has width 0", i)
		}
		if got := bucketOf(lo); got != i {
			t.Errorf("bucketOf(%d) = %d, want %d (lowest value of bucket %d)", lo, got, i, i)
		}
		if got := bucketOf(lo + w - 1); got != i {
			t.Errorf("bucketOf(%d) = %d, want %d (highest value of bucket %d)", lo+w-1, got, i, i)
		}
		if lo >= subBuckets && w*subBuckets > lo {
			t.Errorf("bucket %d = [%d, %d): width %d is more than 1/%d of its lowest value", i, lo, lo+w, w, subBuckets)
		}
		if lo < 2*subBuckets && w != 1 {
			t.Errorf("bucket %d = [%d, %d): small values must be exact (width 1)", i, lo, lo+w)
		}
		next = lo + w
	}
	if next != 1<<maxExp {
		t.Fatalf("buckets end at %d, want 2^%d", next, maxExp)
	}
	if lo, _ := bucketBounds(numBuckets - 1); lo != lastLo {
		t.Fatalf("last bucket starts at %d, want %d", lo, uint64(lastLo))
	}
}

func TestBucketOfContainsValue(t *testing.T) {
	check := func(v uint64) {
		t.Helper()
		i := bucketOf(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d, out of [0, %d)", v, i, numBuckets)
		}
		if v >= 1<<maxExp {
			if i != numBuckets-1 {
				t.Fatalf("bucketOf(%d) = %d, want the last bucket %d (clamped)", v, i, numBuckets-1)
			}
			return
		}
		lo, w := bucketBounds(i)
		if v < lo || v-lo >= w {
			t.Fatalf("bucketOf(%d) = %d = [%d, %d), which does not contain it", v, i, lo, lo+w)
		}
	}
	for v := range uint64(1 << 13) { // every small value
		check(v)
	}
	for e := range 64 { // around every power of two
		p := uint64(1) << e
		for _, v := range []uint64{p - 1, p, p + 1, p + p/2, p | (p - 1)} {
			check(v)
		}
	}
	check(math.MaxUint64)
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		check(r.Uint64() >> r.IntN(64))
	}
}

func TestBucketOfMonotone(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	vals := make([]uint64, 0, 20000)
	for range cap(vals) {
		vals = append(vals, r.Uint64()>>r.IntN(64))
	}
	for v := range uint64(4096) {
		vals = append(vals, v)
	}
	slices.Sort(vals)
	for i := 1; i < len(vals); i++ {
		if a, b := bucketOf(vals[i-1]), bucketOf(vals[i]); a > b {
			t.Fatalf("bucketOf(%d) = %d > bucketOf(%d) = %d: not monotone", vals[i-1], a, vals[i], b)
		}
	}
}

func TestBucketOfClamps(t *testing.T) {
	for _, v := range []uint64{1<<maxExp - 1, 1 << maxExp, 1<<maxExp + 1, 1 << 50, math.MaxInt64, math.MaxUint64} {
		if got := bucketOf(v); got != numBuckets-1 {
			t.Errorf("bucketOf(%d) = %d, want last bucket %d", v, got, numBuckets-1)
		}
	}
	if got := bucketOf(lastLo - 1); got != numBuckets-2 {
		t.Errorf("bucketOf(%d) = %d, want %d", uint64(lastLo-1), got, numBuckets-2)
	}
}

// exactRank is the rank Quantile(permille/1000) must select: ceil(q·n),
// at least 1, computed in integers.
func exactRank(permille, n int) int {
	return max(1, (permille*n+999)/1000)
}

// checkQuantile checks an estimate against the exact order statistic: equal
// below 2·subBuckets ns (width-1 buckets), within ±1/16 (6.25%) below 2^40,
// at least the last bucket's start above, and never above the maximum.
func checkQuantile(t *testing.T, q float64, got time.Duration, exact, maxV uint64) {
	t.Helper()
	g := uint64(got)
	if got < 0 || g > maxV {
		t.Fatalf("Quantile(%v) = %d, outside [0, max %d]", q, got, maxV)
	}
	switch {
	case exact < 2*subBuckets:
		if g != exact {
			t.Fatalf("Quantile(%v) = %d, want exactly %d", q, g, exact)
		}
	case exact < 1<<maxExp:
		diff := max(g, exact) - min(g, exact)
		if diff*16 > exact {
			t.Fatalf("Quantile(%v) = %d, exact %d: error %d is more than 6.25%%", q, g, exact, diff)
		}
	default:
		if g < lastLo {
			t.Fatalf("Quantile(%v) = %d for a value ≥ 2^%d (%d): below the last bucket's start %d", q, g, maxExp, exact, uint64(lastLo))
		}
	}
}

var permilles = []int{0, 1, 10, 100, 250, 500, 750, 900, 950, 990, 999, 1000}

// fuzzPermilles is every 1%, with the tails at 0.1% steps, increasing.
var fuzzPermilles = func() []int {
	var pms []int
	for pm := 0; pm <= 1000; pm++ {
		if pm%10 == 0 || pm < 10 || pm > 990 {
			pms = append(pms, pm)
		}
	}
	return pms
}()

func TestQuantileAgainstExact(t *testing.T) {
	dists := []struct {
		name string
		gen  func(r *rand.Rand) uint64
	}{
		{"tiny", func(r *rand.Rand) uint64 { return r.Uint64N(8) }},
		{"small", func(r *rand.Rand) uint64 { return r.Uint64N(40) }},
		{"uniform-1k", func(r *rand.Rand) uint64 { return r.Uint64N(1000) }},
		{"uniform-1s", func(r *rand.Rand) uint64 { return r.Uint64N(uint64(time.Second)) }},
		{"exponential", func(r *rand.Rand) uint64 { return uint64(r.ExpFloat64() * 50e3) }},
		{"lognormal", func(r *rand.Rand) uint64 { return uint64(math.Exp(r.NormFloat64()*2 + 12)) }},
		{"constant", func(r *rand.Rand) uint64 { return 123456789 }},
		{"bimodal", func(r *rand.Rand) uint64 {
			if r.IntN(100) == 0 {
				return 5e9 + r.Uint64N(1e9)
			}
			return 1000 + r.Uint64N(100)
		}},
		{"huge", func(r *rand.Rand) uint64 { // some values past the last bucket's upper end
			if r.IntN(4) == 0 {
				return 1<<maxExp + r.Uint64N(1<<45)
			}
			return r.Uint64N(1 << 30)
		}},
	}
	for di, d := range dists {
		t.Run(d.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, uint64(di)))
			gen := func() uint64 { return d.gen(r) }
			for _, n := range []int{1, 2, 3, 7, 10, 99, 1000, 4321} {
				var h Histogram
				vals := make([]uint64, n)
				for i := range vals {
					vals[i] = gen()
					h.Record(time.Duration(vals[i]))
				}
				slices.Sort(vals)
				var s HistogramSnapshot
				h.AddTo(&s)
				if s.Count != uint64(n) || s.Max != vals[n-1] {
					t.Fatalf("n=%d: Count=%d Max=%d, want %d and %d", n, s.Count, s.Max, n, vals[n-1])
				}
				prev := time.Duration(-1)
				for _, pm := range permilles {
					q := float64(pm) / 1000
					got := s.Quantile(q)
					checkQuantile(t, q, got, vals[exactRank(pm, n)-1], s.Max)
					if got < prev {
						t.Fatalf("n=%d: Quantile(%v) = %d < %d at a lower quantile", n, q, got, prev)
					}
					prev = got
				}
			}
		})
	}
}

func TestHistogramEmpty(t *testing.T) {
	var h Histogram
	var s HistogramSnapshot
	h.AddTo(&s)
	for _, q := range []float64{0, 0.5, 0.99, 1} {
		if got := s.Quantile(q); got != 0 {
			t.Errorf("empty Quantile(%v) = %v, want 0", q, got)
		}
	}
	if l := s.Latency(); l != (poolrt.Latency{}) {
		t.Errorf("empty Latency() = %+v, want zero", l)
	}
}

func TestHistogramMaxMeanAndNegative(t *testing.T) {
	var h Histogram
	vals := []time.Duration{-time.Second, 0, 3, 17, 1234567, 3 * time.Hour, 999}
	for _, v := range vals {
		h.Record(v)
	}
	var s HistogramSnapshot
	h.AddTo(&s)
	if s.Max != uint64(3*time.Hour) {
		t.Errorf("Max = %d, want %d (exact even past 2^%d)", s.Max, 3*time.Hour, maxExp)
	}
	wantSum := uint64(0 + 0 + 3 + 17 + 1234567 + 3*time.Hour + 999) // the negative value counts as 0
	if s.Sum != wantSum || s.Count != uint64(len(vals)) {
		t.Errorf("Sum, Count = %d, %d; want %d, %d", s.Sum, s.Count, wantSum, len(vals))
	}
	if s.Buckets[0] != 2 {
		t.Errorf("bucket 0 holds %d, want 2 (zero and a negative duration)", s.Buckets[0])
	}
	l := s.Latency()
	if l.Count != uint64(len(vals)) || l.Max != 3*time.Hour || l.Mean != time.Duration(wantSum/uint64(len(vals))) {
		t.Errorf("Latency() = %+v", l)
	}
	if !(l.P50 <= l.P95 && l.P95 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
		t.Errorf("percentiles not ordered: %+v", l)
	}
	// Classes: under 1.024µs: 0 0 3 17 999; 1234567ns in [2^20, 2^21), class
	// 11; 3h past the last class's floor.
	want := [len(l.Buckets)]uint64{0: 5, 11: 1, len(l.Buckets) - 1: 1}
	if l.Buckets != want {
		t.Errorf("Latency().Buckets = %v, want %v", l.Buckets, want)
	}
	if got := s.Quantile(0.5); got != 17 { // sorted: 0 0 3 17 999 1234567 3h; rank 4
		t.Errorf("Quantile(0.5) = %d, want 17", got)
	}

	// A single value: every quantile is that value's bucket midpoint
	// capped at Max, i.e. the value itself when it is a bucket's lowest.
	var one Histogram
	one.Record(1 << 20)
	var so HistogramSnapshot
	one.AddTo(&so)
	for _, q := range []float64{0.001, 0.5, 1} {
		if got := so.Quantile(q); got != 1<<20 {
			t.Errorf("single value: Quantile(%v) = %d, want %d (capped at Max)", q, got, 1<<20)
		}
	}
}

func TestHistogramAddToMerges(t *testing.T) {
	var a, b, all Histogram
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 5000 {
		d := time.Duration(r.Uint64N(1 << 35))
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var merged, want HistogramSnapshot
	a.AddTo(&merged)
	b.AddTo(&merged)
	all.AddTo(&want)
	if merged != want {
		t.Fatalf("merged snapshot differs from the histogram of all values:\nmerged Count=%d Sum=%d Max=%d\nwant   Count=%d Sum=%d Max=%d",
			merged.Count, merged.Sum, merged.Max, want.Count, want.Sum, want.Max)
	}
}

func TestHistogramConcurrentRecord(t *testing.T) {
	const goroutines, per = 8, 5000
	var h Histogram
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range per {
				h.Record(time.Duration(g*per + i))
			}
		})
	}
	// A concurrent reader: snapshots must never see more than was recorded.
	done := make(chan struct{})
	var rg sync.WaitGroup
	rg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			var s HistogramSnapshot
			h.AddTo(&s)
			_ = s.Quantile(0.99)
			if s.Count > goroutines*per {
				t.Errorf("snapshot Count %d > %d recorded", s.Count, goroutines*per)
				return
			}
		}
	})
	wg.Wait()
	close(done)
	rg.Wait()

	const n = goroutines * per
	var s HistogramSnapshot
	h.AddTo(&s)
	if s.Count != n || s.Sum != n*(n-1)/2 || s.Max != n-1 {
		t.Fatalf("Count, Sum, Max = %d, %d, %d; want %d, %d, %d", s.Count, s.Sum, s.Max, n, n*(n-1)/2, n-1)
	}
	var want [numBuckets]uint64
	for v := range uint64(n) {
		want[bucketOf(v)]++
	}
	if s.Buckets != want {
		t.Fatal("bucket counts differ from a sequential count of the same values")
	}
}

// FuzzHistogram records fuzzer-chosen durations (8 bytes each: the low 6
// bits pick a magnitude, so values spread over every bucket; a magnitude of
// 63 makes the value negative) and checks the snapshot against the exact
// values: Count, Sum and Max exact, quantiles monotone in q, never above
// Max, within the documented error of the exact order statistic.
func FuzzHistogram(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{40, 1, 2, 3, 4, 5, 6, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 1<<63|20), 12345<<12|63))
	seed := []byte{}
	for i := range 64 {
		seed = binary.LittleEndian.AppendUint64(seed, uint64(i)*0x9e3779b97f4a7c15&^63|uint64(i))
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxValues = 256
		var h Histogram
		var vals []uint64
		for len(data) >= 8 && len(vals) < maxValues {
			u := binary.LittleEndian.Uint64(data)
			data = data[8:]
			shift := u & 63
			v := (u >> 12) >> shift // < 2^52: the sum cannot overflow
			d := time.Duration(v)
			if shift == 63 {
				d, v = -time.Duration(u>>12), 0 // negative: recorded as 0
			}
			h.Record(d)
			vals = append(vals, v)
		}
		var s HistogramSnapshot
		h.AddTo(&s)
		if len(vals) == 0 {
			if s.Quantile(0.5) != 0 || s.Latency() != (poolrt.Latency{}) {
				t.Fatal("empty histogram reports values")
			}
			return
		}
		slices.Sort(vals)
		var sum uint64
		for _, v := range vals {
			sum += v
		}
		n := len(vals)
		if s.Count != uint64(n) || s.Sum != sum || s.Max != vals[n-1] {
			t.Fatalf("Count, Sum, Max = %d, %d, %d; want %d, %d, %d", s.Count, s.Sum, s.Max, n, sum, vals[n-1])
		}
		// Quantile scans every bucket, so check a grid of quantiles (every
		// 1%, plus the tails) rather than all thousand: fuzzing stays fast.
		prev := time.Duration(0)
		for _, pm := range fuzzPermilles {
			q := float64(pm) / 1000
			got := s.Quantile(q)
			if got < prev {
				t.Fatalf("Quantile(%v) = %d < Quantile at a lower q = %d", q, got, prev)
			}
			prev = got
			checkQuantile(t, q, got, vals[exactRank(pm, n)-1], s.Max)
		}
		l := s.Latency()
		if !(l.P50 <= l.P95 && l.P95 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) || l.Mean > l.Max {
			t.Fatalf("Latency() not ordered: %+v", l)
		}
	})
}

func TestLatencyBucketEdges(t *testing.T) {
	var h Histogram
	for _, v := range []time.Duration{1023, 1024, 2047, 2048, 1<<36 - 1, 1 << 36} {
		h.Record(v)
	}
	var s HistogramSnapshot
	h.AddTo(&s)
	l := s.Latency()
	want := [len(l.Buckets)]uint64{0: 1, 1: 2, 2: 1, 26: 1, 27: 1}
	if l.Buckets != want {
		t.Errorf("Buckets = %v, want %v", l.Buckets, want)
	}
}
