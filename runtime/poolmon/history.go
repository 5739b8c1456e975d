package poolmon

import (
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

// Defaults of Config.
const (
	// DefaultInterval is how often the sampler reads the pools: often
	// enough for a live page, rarely enough that an interval holds many
	// tasks and its percentiles mean something.
	DefaultInterval = time.Second
	// DefaultWindow is how much history the sampler keeps per pool: long
	// enough to look back at an incident someone was paged for.
	DefaultWindow = 15 * time.Minute
	// MinInterval is the shortest Config.Interval: reading a pool's Stats
	// walks its shards, which is cheap but not free.
	MinInterval = 10 * time.Millisecond
	// MaxSamples bounds Config.Window / Config.Interval, and so the memory
	// of a pool's history.
	MaxSamples = 1 << 16
)

// scaleEventsKept is how many of a dynamic pool's latest scaling events
// its history keeps: as many as its own Stats does.
const scaleEventsKept = config.ScaleHistory

// Config configures a Monitor. The zero Config is valid: one sample a
// second, fifteen minutes kept, no alert rule, logging to slog.Default.
type Config struct {
	// Interval is the time between two samples (default DefaultInterval,
	// at least MinInterval).
	Interval time.Duration
	// Window is how far back the history goes (default DefaultWindow).
	// Each pool keeps Window/Interval samples, rounded up, at most
	// MaxSamples.
	Window time.Duration
	// Rules are the degradation rules checked on every pool's every new
	// sample; see WaitP99Above, Saturation, FailureRateAbove and Stuck.
	Rules []Rule
	// OnAlert, if not nil, is called when a rule starts or stops firing
	// for a pool. It is called on the sampler's goroutine, one alert at a
	// time, so it should return quickly; a panic in it is recovered and
	// logged.
	OnAlert func(Alert)
	// Logger receives alerts and contained panics (default slog.Default).
	Logger *slog.Logger
}

// Monitor samples the named pools into a history, watches it for
// degradation and serves it as a live page (ServeHTTP). Create one with
// Start and end it with Stop.
type Monitor struct {
	interval time.Duration
	capacity int // samples kept per pool
	window   time.Duration
	rules    []Rule
	onAlert  func(Alert)
	log      *slog.Logger

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	mu      sync.Mutex
	series  map[string]*series
	alerts  map[alertKey]*alertState
	seq     uint64        // samples taken; numbers update messages
	update  []byte        // the latest update message, for the live page
	updated chan struct{} // closed and replaced after each sample
}

// Series is one pool's history.
type Series struct {
	Name    string `json:"name"`
	Pattern string `json:"pattern"`
	Task    string `json:"task"`
	// Gone says that the pool has left the registry (it shut down). Its
	// history is kept until its last sample is older than the window. What
	// the pool did after its last sample, while it drained, is not in it.
	Gone bool `json:"gone"`
	// Samples are the intervals, oldest first.
	Samples []Sample `json:"samples"`
	// Events are a dynamic pool's latest changes of size, oldest first.
	Events []poolrt.ScaleEvent `json:"events,omitempty"`
}

// Sample is what happened to a pool during one interval. Counts are the
// interval's own (the difference of two Stats), gauges are read at its
// end, and latencies are the percentiles of the tasks timed in it (see
// poolrt.LatencySampling), to the resolution of Latency.Buckets: a
// power-of-two class, interpolated within. Durations encode in JSON as
// nanoseconds.
type Sample struct {
	At      time.Time `json:"at"`      // end of the interval
	Seconds float64   `json:"seconds"` // length of the interval

	Submitted uint64 `json:"submitted"`
	Completed uint64 `json:"completed"` // Failed included, as in poolrt.Stats
	Failed    uint64 `json:"failed"`
	Panicked  uint64 `json:"panicked"`
	Rejected  uint64 `json:"rejected"`
	TimedOut  uint64 `json:"timedOut"` // in Failed too (poolrt.TaskTimeout)
	// Retries and DeadLettered are as in poolrt.Stats (poolrt.Retry).
	Retries      uint64 `json:"retries,omitempty"`
	DeadLettered uint64 `json:"deadLettered,omitempty"`
	// Shed and Shedding are as in poolrt.Stats (poolrt.Shed): the
	// submissions refused in the interval, and the state at its end.
	Shed     uint64 `json:"shed,omitempty"`
	Shedding bool   `json:"shedding,omitempty"`

	Workers    int `json:"workers"`
	Busy       int `json:"busy"`
	QueueDepth int `json:"queueDepth"`
	QueueCap   int `json:"queueCap"`
	// QueueGrowth is how much QueueDepth changed over the interval.
	QueueGrowth int `json:"queueGrowth"`

	// Utilization is the fraction of worker time spent running tasks in
	// the interval: the run time of the tasks timed in it, scaled up to
	// every task, over the interval times the mean of the worker counts at
	// its ends. When no timed task finished in it (tasks longer than the
	// interval, or latency metrics off) it is the Busy/Workers gauge. A
	// task's whole run time counts in the interval it ends in.
	Utilization float64 `json:"utilization"`

	WaitP50 time.Duration `json:"waitP50"`
	WaitP99 time.Duration `json:"waitP99"`
	RunP50  time.Duration `json:"runP50"`
	RunP99  time.Duration `json:"runP99"`

	// Dynamic pools: the size and limits at the end, and the changes of
	// size during the interval.
	Size       int    `json:"size,omitempty"`
	Min        int    `json:"min,omitempty"`
	Max        int    `json:"max,omitempty"`
	ScaleUps   uint64 `json:"scaleUps,omitempty"`
	ScaleDowns uint64 `json:"scaleDowns,omitempty"`

	// Work-stealing pools: successful steals and the tasks they took.
	Steals      uint64 `json:"steals,omitempty"`
	StolenTasks uint64 `json:"stolenTasks,omitempty"`

	// Priority pools: one entry per band, by rank ascending.
	Bands []Band `json:"bands,omitempty"`

	// Batch pools: batches handed over in the interval, by reason.
	Batches       uint64 `json:"batches,omitempty"`
	FlushFull     uint64 `json:"flushFull,omitempty"`
	FlushLinger   uint64 `json:"flushLinger,omitempty"`
	FlushIdle     uint64 `json:"flushIdle,omitempty"`
	FlushShutdown uint64 `json:"flushShutdown,omitempty"`

	// Routers (poolrt.RouterName): one entry per class, in route order.
	Classes []Class `json:"classes,omitempty"`
}

// Class is one class of a router during an interval.
type Class struct {
	Class      string `json:"class"`
	Completed  uint64 `json:"completed"` // in the interval
	Workers    int    `json:"workers"`   // at the end
	Busy       int    `json:"busy"`
	QueueDepth int    `json:"queueDepth"`
	// Limit is a lent class's maximum of workers at the end (poolrt.Lend);
	// 0 for a class that does not take part in lending.
	Limit int `json:"limit,omitempty"`
}

// Band is one band of a priority pool during an interval.
type Band struct {
	Lo        int64         `json:"lo"`
	Hi        int64         `json:"hi"`
	Submitted uint64        `json:"submitted"` // in the interval
	Queued    int           `json:"queued"`    // waiting at the end
	WaitP50   time.Duration `json:"waitP50"`
	WaitP99   time.Duration `json:"waitP99"`
}

// series is a pool's history in a ring.
type series struct {
	name, pattern, task string
	gone                bool

	prev   poolrt.Stats // the last reading, the base of the next delta
	prevAt time.Time

	ring []Sample // grows to the monitor's capacity, then wraps
	head int      // index of the oldest sample once the ring is full

	events    []poolrt.ScaleEvent // at most scaleEventsKept
	lastEvent time.Time
}

// Start starts a Monitor's sampler: it reads the pools at once, and then
// every cfg.Interval until Stop.
func Start(cfg Config) (*Monitor, error) {
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	switch {
	case cfg.Interval < MinInterval:
		return nil, fmt.Errorf("poolgen: monitor interval %v: want at least %v", cfg.Interval, MinInterval)
	case cfg.Window < cfg.Interval:
		return nil, fmt.Errorf("poolgen: monitor window %v: want at least the interval, %v", cfg.Window, cfg.Interval)
	case (cfg.Window+cfg.Interval-1)/cfg.Interval > MaxSamples:
		return nil, fmt.Errorf("poolgen: monitor window %v at interval %v: want at most %d samples per pool; lengthen the interval", cfg.Window, cfg.Interval, MaxSamples)
	}
	rules := slices.Clone(cfg.Rules)
	for i := range rules {
		if err := rules[i].check(); err != nil {
			return nil, err
		}
		for _, r := range rules[:i] {
			if r.Name == rules[i].Name {
				return nil, fmt.Errorf("poolgen: alert rule %q given twice: name rules apart, alerts are told apart by name", r.Name)
			}
		}
	}
	m := &Monitor{
		interval: cfg.Interval,
		window:   cfg.Window,
		capacity: int((cfg.Window + cfg.Interval - 1) / cfg.Interval), // the whole window, rounded up
		rules:    rules,
		onAlert:  cfg.OnAlert,
		log:      cfg.Logger,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		series:   map[string]*series{},
		alerts:   map[alertKey]*alertState{},
		updated:  make(chan struct{}),
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	m.sample()
	go m.run()
	return m, nil
}

// Stop ends the sampler and waits for it to exit; live pages see their
// stream end. The history stays readable. Stop may be called more than
// once.
func (m *Monitor) Stop() {
	m.stopOnce.Do(func() { close(m.stop) })
	<-m.done
}

func (m *Monitor) run() {
	defer close(m.done)
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.sample()
		}
	}
}

// sample reads every pool once, appends an interval to each pool's
// history, checks the rules and wakes the live pages.
func (m *Monitor) sample() {
	pools := Pools()  // the pools' Stats only: nothing on their hot path
	now := time.Now() // the reading's time, not the tick's: a late tick would skew rates
	var fresh []freshSample
	m.mu.Lock()
	seen := make(map[string]bool, len(pools))
	for _, p := range pools {
		seen[p.Name] = true
		s := m.series[p.Name]
		if s == nil {
			s = &series{name: p.Name}
			m.series[p.Name] = s
			s.prev, s.prevAt = p.Stats, now
		} else if smp, ok := s.add(p.Stats, now, m.capacity); ok {
			fresh = append(fresh, freshSample{s.name, smp})
		}
		s.pattern, s.task, s.gone = p.Pattern, p.Task, false
	}
	var alerts []Alert
	for _, f := range fresh {
		alerts = append(alerts, m.watch(f.name, f.sample)...)
	}
	for name, s := range m.series {
		if seen[name] {
			continue
		}
		if !s.gone {
			s.gone = true
			alerts = append(alerts, m.forget(name, now)...)
		}
		if now.Sub(s.prevAt) > m.window {
			delete(m.series, name)
		}
	}
	m.publish(fresh)
	m.mu.Unlock()
	// The callback runs unlocked: it may read the monitor.
	for _, a := range alerts {
		m.report(a)
	}
}

type freshSample struct {
	name   string
	sample Sample
}

// add turns the reading cur into a sample relative to the previous one
// and appends it; ok is false when there is no interval to report.
func (s *series) add(cur poolrt.Stats, now time.Time, capacity int) (smp Sample, ok bool) {
	prev, prevAt := s.prev, s.prevAt
	if restarted(prev, cur) {
		// A new pool under an old name: its counters start from zero, and
		// so does the interval, at the latest when the pool started.
		prev = poolrt.Stats{}
		prevAt = now.Add(-min(cur.Uptime, now.Sub(prevAt)))
		s.lastEvent = time.Time{}
	}
	s.prev, s.prevAt = cur, now
	secs := now.Sub(prevAt).Seconds()
	if secs <= 0 {
		return Sample{}, false
	}
	smp = delta(prev, cur, secs)
	smp.At = now
	s.record(cur.Scaling)
	if len(s.ring) < capacity {
		s.ring = append(s.ring, smp)
	} else {
		s.ring[s.head] = smp
		s.head = (s.head + 1) % capacity
	}
	return smp, true
}

// record keeps a dynamic pool's scaling events not seen before.
func (s *series) record(sc *poolrt.ScalingStats) {
	if sc == nil {
		return
	}
	for _, e := range sc.Events {
		if !e.At.After(s.lastEvent) {
			continue
		}
		s.lastEvent = e.At
		if len(s.events) == scaleEventsKept {
			s.events = append(s.events[:0], s.events[1:]...)
		}
		s.events = append(s.events, e)
	}
}

// restarted says whether cur is not a later reading of the pool that gave
// prev: counters never go down and uptime never goes back.
func restarted(prev, cur poolrt.Stats) bool {
	return cur.Uptime < prev.Uptime || cur.Submitted < prev.Submitted || cur.Completed < prev.Completed
}

// delta computes the interval from prev to cur, secs long.
func delta(prev, cur poolrt.Stats, secs float64) Sample {
	smp := Sample{
		Seconds:      secs,
		Submitted:    sub(cur.Submitted, prev.Submitted),
		Completed:    sub(cur.Completed, prev.Completed),
		Failed:       sub(cur.Failed, prev.Failed),
		Panicked:     sub(cur.Panicked, prev.Panicked),
		Rejected:     sub(cur.Rejected, prev.Rejected),
		TimedOut:     sub(cur.TimedOut, prev.TimedOut),
		Retries:      sub(cur.Retries, prev.Retries),
		DeadLettered: sub(cur.DeadLettered, prev.DeadLettered),
		Shed:         sub(cur.Shed, prev.Shed),
		Shedding:     cur.Shedding,
		Workers:      cur.Workers,
		Busy:         cur.Busy,
		QueueDepth:   cur.QueueDepth,
		QueueCap:     cur.QueueCap,
		QueueGrowth:  cur.QueueDepth - prev.QueueDepth,
	}
	smp.WaitP50, smp.WaitP99 = percentiles(&prev.Wait, &cur.Wait)
	smp.RunP50, smp.RunP99 = percentiles(&prev.Run, &cur.Run)

	units := smp.Completed + smp.Panicked
	if sc := cur.Scaling; sc != nil {
		smp.Size, smp.Min, smp.Max = sc.Size, sc.Min, sc.Max
		if p := prev.Scaling; p != nil {
			smp.ScaleUps, smp.ScaleDowns = sub(sc.Ups, p.Ups), sub(sc.Downs, p.Downs)
		} else {
			smp.ScaleUps, smp.ScaleDowns = sc.Ups, sc.Downs
		}
	}
	if st := cur.Stealing; st != nil {
		var p poolrt.StealingStats
		if prev.Stealing != nil {
			p = *prev.Stealing
		}
		smp.Steals, smp.StolenTasks = sub(st.Steals, p.Steals), sub(st.StolenTasks, p.StolenTasks)
	}
	if pr := cur.Priority; pr != nil {
		var pb []poolrt.BandStats
		if prev.Priority != nil && len(prev.Priority.Bands) == len(pr.Bands) {
			pb = prev.Priority.Bands
		}
		smp.Bands = make([]Band, len(pr.Bands))
		for i, b := range pr.Bands {
			var p poolrt.BandStats
			if pb != nil {
				p = pb[i]
			}
			queued := int64(b.Submitted) - int64(b.Completed+b.Panicked+b.Returned)
			smp.Bands[i] = Band{Lo: b.Lo, Hi: b.Hi, Submitted: sub(b.Submitted, p.Submitted), Queued: int(max(queued, 0))}
			smp.Bands[i].WaitP50, smp.Bands[i].WaitP99 = percentiles(&p.Wait, &b.Wait)
		}
	}
	if b := cur.Batch; b != nil {
		var p poolrt.BatchStats
		if prev.Batch != nil {
			p = *prev.Batch
		}
		smp.Batches = sub(b.Batches, p.Batches)
		smp.FlushFull, smp.FlushLinger = sub(b.Full, p.Full), sub(b.Linger, p.Linger)
		smp.FlushIdle, smp.FlushShutdown = sub(b.Idle, p.Idle), sub(b.Shutdown, p.Shutdown)
		units = smp.Batches // a batch pool times batches, not tasks
	}
	if r := cur.Router; r != nil {
		var pc []poolrt.ClassStats
		if prev.Router != nil && len(prev.Router.Classes) == len(r.Classes) {
			pc = prev.Router.Classes
		}
		smp.Classes = make([]Class, len(r.Classes))
		for i, c := range r.Classes {
			var done uint64
			if pc != nil {
				done = pc[i].Stats.Completed
			}
			smp.Classes[i] = Class{Class: c.Class, Completed: sub(c.Stats.Completed, done),
				Workers: c.Stats.Workers, Busy: c.Stats.Busy, QueueDepth: c.Stats.QueueDepth}
			if c.Lent {
				smp.Classes[i].Limit = c.Limit
			}
		}
	}
	smp.Utilization = utilization(prev, cur, units, secs)
	return smp
}

// utilization estimates the interval's busy fraction; see
// Sample.Utilization.
func utilization(prev, cur poolrt.Stats, units uint64, secs float64) float64 {
	timed := sub(cur.Run.Count, prev.Run.Count)
	workers := float64(cur.Workers+prev.Workers) / 2
	if timed == 0 || workers == 0 {
		if cur.Workers == 0 {
			return 0
		}
		return float64(cur.Busy) / float64(cur.Workers)
	}
	// Mean is the exact sum over the count, so their product gives back
	// the sum of run times to within a nanosecond per task.
	ran := float64(cur.Run.Mean)*float64(cur.Run.Count) - float64(prev.Run.Mean)*float64(prev.Run.Count)
	scale := max(float64(units)/float64(timed), 1) // one task in LatencySampling is timed
	return min(max(ran*scale/(secs*workers*1e9), 0), 1)
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// bucketBounds returns the lower and upper bound of Latency.Buckets[i] in
// nanoseconds; the last class has no upper bound (hi is its lower bound).
func bucketBounds(i int) (lo, hi float64) {
	const base = 1024 // ns: the upper bound of class 0
	switch {
	case i == 0:
		return 0, base
	case i == len(poolrt.Latency{}.Buckets)-1:
		lo = math.Ldexp(base, i-1)
		return lo, lo
	}
	return math.Ldexp(base, i-1), math.Ldexp(base, i)
}

// percentiles returns the median and 99th percentile of the observations
// between two readings of a latency, or zeros if there were none.
func percentiles(prev, cur *poolrt.Latency) (p50, p99 time.Duration) {
	var d [len(poolrt.Latency{}.Buckets)]uint64
	var n uint64
	for i := range d {
		d[i] = sub(cur.Buckets[i], prev.Buckets[i])
		n += d[i]
	}
	return quantile(&d, n, 0.50), quantile(&d, n, 0.99)
}

// quantile returns the q-quantile of the n observations counted by
// class in d, placing the observations of a class evenly across it.
func quantile(d *[len(poolrt.Latency{}.Buckets)]uint64, n uint64, q float64) time.Duration {
	if n == 0 {
		return 0
	}
	rank := min(max(uint64(math.Ceil(q*float64(n))), 1), n)
	var seen uint64
	for i, c := range d {
		if seen+c < rank {
			seen += c
			continue
		}
		lo, hi := bucketBounds(i)
		return time.Duration(lo + (hi-lo)*(float64(rank-seen)-0.5)/float64(c))
	}
	return 0 // unreachable: the classes sum to n
}

// History returns every pool's history, sorted by pool name: the pools
// now registered and those that left less than a window ago.
func (m *Monitor) History() []Series {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.history("")
}

// history copies the history of the pool named only, or of all pools if
// only is empty; m.mu must be held.
func (m *Monitor) history(only string) []Series {
	out := make([]Series, 0, len(m.series))
	for _, s := range m.series {
		if only != "" && s.name != only {
			continue
		}
		smp := make([]Sample, 0, len(s.ring))
		smp = append(smp, s.ring[s.head:]...)
		smp = append(smp, s.ring[:s.head]...)
		out = append(out, Series{
			Name: s.name, Pattern: s.pattern, Task: s.task, Gone: s.gone,
			Samples: smp, Events: slices.Clone(s.events),
		})
	}
	slices.SortFunc(out, func(a, b Series) int { return strings.Compare(a.Name, b.Name) })
	return out
}
