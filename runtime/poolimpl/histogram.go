package poolimpl

import (
	"math/bits"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// The histogram is log-linear: values below subBuckets nanoseconds get a
// bucket each, then every power of two is split into subBuckets equal
// buckets. With 8 sub-buckets a bucket is at most 12.5% wide, so a reported
// percentile (the bucket's midpoint) is within ±6.25% of the true value.
// Values from 2^maxExp ns (~18 minutes) up share the last bucket; Max stays
// exact.
const (
	subBits    = 3
	subBuckets = 1 << subBits
	maxExp     = 40
	numBuckets = subBuckets + (maxExp-subBits)*subBuckets
)

// Histogram records durations in nanoseconds. It is safe for concurrent use
// and lock-free: Record is a handful of atomic adds. Pools keep one per
// queue shard, written only by that shard's workers and only for sampled
// tasks, so the adds are rarely contended.
type Histogram struct {
	count   atomic.Uint64
	sum     atomic.Uint64
	max     atomic.Uint64
	buckets [numBuckets]atomic.Uint64
}

func bucketOf(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	e := bits.Len64(v) - 1 // v in [2^e, 2^(e+1))
	if e >= maxExp {
		return numBuckets - 1
	}
	return subBuckets + (e-subBits)*subBuckets + int(v>>(e-subBits))&(subBuckets-1)
}

// bucketBounds returns the bucket's lowest value and its width.
func bucketBounds(i int) (lo, width uint64) {
	if i < subBuckets {
		return uint64(i), 1
	}
	e := (i-subBuckets)/subBuckets + subBits
	m := uint64((i - subBuckets) % subBuckets)
	shift := uint(e - subBits)
	return (subBuckets + m) << shift, 1 << shift
}

// Record adds one observation; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.buckets[bucketOf(v)].Add(1)
	h.count.Add(1)
	h.sum.Add(v)
	for m := h.max.Load(); v > m && !h.max.CompareAndSwap(m, v); m = h.max.Load() {
	}
}

// HistogramSnapshot is a point-in-time copy of one or more merged
// histograms.
type HistogramSnapshot struct {
	Count   uint64
	Sum     uint64
	Max     uint64
	Buckets [numBuckets]uint64
}

// AddTo merges h into s. Concurrent recording may be partly visible; every
// field is read atomically, so the snapshot is never torn per field.
func (h *Histogram) AddTo(s *HistogramSnapshot) {
	s.Count += h.count.Load()
	s.Sum += h.sum.Load()
	s.Max = max(s.Max, h.max.Load())
	for i := range h.buckets {
		s.Buckets[i] += h.buckets[i].Load()
	}
}

// Quantile returns the value at quantile q (0 < q ≤ 1): the midpoint of the
// bucket holding the ceil(q·n)-th smallest observation, never above Max.
func (s *HistogramSnapshot) Quantile(q float64) time.Duration {
	var n uint64
	for _, c := range s.Buckets {
		n += c // not s.Count: a concurrent Record may have bumped one but not the other
	}
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.999999)
	rank = min(max(rank, 1), n)
	var seen uint64
	for i, c := range s.Buckets {
		seen += c
		if seen >= rank {
			lo, w := bucketBounds(i)
			return time.Duration(min(lo+w/2, s.Max))
		}
	}
	return time.Duration(s.Max)
}

// Latency summarizes the snapshot.
func (s *HistogramSnapshot) Latency() poolrt.Latency {
	l := poolrt.Latency{Count: s.Count, Max: time.Duration(s.Max)}
	if s.Count == 0 {
		return l
	}
	for i, c := range s.Buckets {
		lo, _ := bucketBounds(i) // a bucket never straddles a power of two
		class := min(max(bits.Len64(lo)-10, 0), len(l.Buckets)-1)
		l.Buckets[class] += c
	}
	l.Mean = time.Duration(s.Sum / s.Count)
	l.P50 = s.Quantile(0.50)
	l.P95 = s.Quantile(0.95)
	l.P99 = s.Quantile(0.99)
	l.P999 = s.Quantile(0.999)
	return l
}
