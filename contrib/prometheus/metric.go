package poolprom

import (
	"fmt"
	"slices"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// A scrape sends tens of metrics per pool, each with the pool's three
// labels. The metrics here write the labels they share once per pool and
// a histogram's buckets in one block, instead of building every label
// pair and bucket anew for every metric as client_golang's const metrics
// do; the registry reads them the same way.

// maxExtra is the most labels a family has beyond pool, pattern and task.
const maxExtra = 2

// family is an exported family: its descriptor, and its label names in
// the order a metric writes them (by name, as the exposition wants).
type family struct {
	desc  *prometheus.Desc
	names []*string // pool, pattern, task, then the family's own labels
	order []int     // indices into names, by name
}

// poolLabels are the labels of every series.
var poolLabels = []string{"pool", "pattern", "task"}

// newDesc returns the family name, with help and the labels of every
// series and extra.
func newDesc(name, help string, extra ...string) *family {
	if len(extra) > maxExtra {
		panic(fmt.Sprintf("poolgen: poolprom: %s has %d labels of its own; at most %d fit", name, len(extra), maxExtra))
	}
	labels := append(slices.Clone(poolLabels), extra...)
	f := &family{
		desc:  prometheus.NewDesc(name, help, labels, nil),
		names: make([]*string, len(labels)),
		order: make([]int, len(labels)),
	}
	for i := range labels {
		f.names[i] = &labels[i]
		f.order[i] = i
	}
	slices.SortFunc(f.order, func(a, b int) int {
		switch {
		case labels[a] < labels[b]:
			return -1
		case labels[a] > labels[b]:
			return 1
		}
		return 0
	})
	return f
}

// metric is one series' value at a scrape: a counter's, a gauge's, or a
// histogram's.
type metric struct {
	f      *family
	labels []*dto.LabelPair // sorted by name
	kind   dto.MetricType
	value  float64
	hist   *histogram
}

// labeledMetric is a metric with labels of its own beyond the pool's,
// allocated in one block with them.
type labeledMetric struct {
	metric
	values [maxExtra]string
	pairs  [maxExtra]dto.LabelPair
	sorted [3 + maxExtra]*dto.LabelPair
}

// Desc returns the metric's family's descriptor.
func (m *metric) Desc() *prometheus.Desc { return m.f.desc }

// Write writes the metric's labels and value into out. The labels are
// shared with the pool's other metrics, read-only, as the registry reads
// them.
func (m *metric) Write(out *dto.Metric) error {
	out.Label = m.labels
	switch m.kind {
	case dto.MetricType_COUNTER:
		out.Counter = &dto.Counter{Value: &m.value}
	case dto.MetricType_GAUGE:
		out.Gauge = &dto.Gauge{Value: &m.value}
	default:
		out.Histogram = &m.hist.h
	}
	return nil
}

// maxBuckets is the most finite buckets an exported histogram has.
const maxBuckets = 19

// histogram is a histogram's dto form, with room for its buckets and
// counts, allocated in one block.
type histogram struct {
	h       dto.Histogram
	count   uint64
	sum     float64
	cum     [maxBuckets]uint64
	buckets [maxBuckets]dto.Bucket
	ptrs    [maxBuckets]*dto.Bucket
}

// emitter sends one pool's metrics.
type emitter struct {
	ch     chan<- prometheus.Metric
	values [3]string
	pairs  [3]dto.LabelPair
	base   []*dto.LabelPair // the pool's labels by name: the labels of a family without labels of its own
}

func newEmitter(ch chan<- prometheus.Metric, pool, pattern, task string) *emitter {
	e := &emitter{ch: ch, values: [3]string{labelValue(pool), labelValue(pattern), labelValue(task)}}
	for i := range e.pairs {
		e.pairs[i].Name, e.pairs[i].Value = &poolLabels[i], &e.values[i]
	}
	// Every family's labels start with the pool's, so the order of a
	// family without labels of its own is the pool labels' order.
	for _, i := range descSubmitted.order {
		e.base = append(e.base, &e.pairs[i])
	}
	return e
}

// newMetric returns a metric of f with the pool's labels and extra, one
// value per label of f's own.
func (e *emitter) newMetric(f *family, kind dto.MetricType, extra []string) *metric {
	if len(extra) != len(f.names)-len(poolLabels) {
		panic(fmt.Sprintf("poolgen: poolprom: %s takes %d labels of its own, given %d", f.desc, len(f.names)-len(poolLabels), len(extra)))
	}
	if len(extra) == 0 {
		return &metric{f: f, labels: e.base, kind: kind}
	}
	m := &labeledMetric{metric: metric{f: f, kind: kind}}
	for i, v := range extra {
		m.values[i] = v
		m.pairs[i].Name, m.pairs[i].Value = f.names[len(poolLabels)+i], &m.values[i]
	}
	for j, i := range f.order {
		if i < len(poolLabels) {
			m.sorted[j] = &e.pairs[i]
		} else {
			m.sorted[j] = &m.pairs[i-len(poolLabels)]
		}
	}
	m.labels = m.sorted[:len(f.order):len(f.order)]
	return &m.metric
}

func (e *emitter) counter(f *family, v uint64, extra ...string) {
	m := e.newMetric(f, dto.MetricType_COUNTER, extra)
	m.value = float64(v)
	e.ch <- m
}

// seconds sends a counter of seconds.
func (e *emitter) seconds(f *family, v time.Duration, extra ...string) {
	m := e.newMetric(f, dto.MetricType_COUNTER, extra)
	m.value = v.Seconds()
	e.ch <- m
}

func (e *emitter) gauge(f *family, v float64, extra ...string) {
	m := e.newMetric(f, dto.MetricType_GAUGE, extra)
	m.value = v
	e.ch <- m
}

// histogram sends a histogram of classes, exact counts of observations by
// class, with the buckets b and the sum of the observations sum(count),
// count being at least the classes' total (see latency).
func (e *emitter) histogram(f *family, b *buckets, classes []uint64, count uint64, sum func(count uint64) float64, extra ...string) {
	m := e.newMetric(f, dto.MetricType_HISTOGRAM, extra)
	h := &histogram{}
	total := b.cumulative(classes, h.cum[:len(b.ends)])
	h.count = max(count, total)
	h.sum = sum(h.count)
	for k := range b.ends {
		bk := &h.buckets[k]
		bk.CumulativeCount, bk.UpperBound = &h.cum[k], &b.bounds[k]
		h.ptrs[k] = bk
	}
	h.h.SampleCount, h.h.SampleSum, h.h.Bucket = &h.count, &h.sum, h.ptrs[:len(b.ends):len(b.ends)]
	m.hist = h
	e.ch <- m
}

// latency sends l as a histogram (see the package documentation).
func (e *emitter) latency(f *family, l *poolrt.Latency, extra ...string) {
	// The classes sum to Count in a snapshot of a pool at rest; one read
	// while tasks finish may see a class counted before Count. The +Inf
	// bucket, which is the count, stays no smaller than the others.
	mean := l.Mean.Seconds()
	e.histogram(f, &latencyBuckets, l.Buckets[:], l.Count, func(n uint64) float64 { return mean * float64(n) }, extra...)
}
