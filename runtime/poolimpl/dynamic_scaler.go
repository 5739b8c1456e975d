package poolimpl

import (
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"

	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Activity modes.
const (
	activityOff uint32 = iota // no worker in the slot
	activityIdle
	activityBusy
)

// Activity records how one worker slot spends its time: busy (running
// tasks or looking for more), idle (parked, or started and not yet busy)
// or off (no worker runs in it). A dynamic pool's controller reads it to
// measure utilization and idle time exactly, without sampling tasks.
//
// Only the slot's owner writes it — the goroutine that starts a worker in
// the slot, then that worker — and only when the worker changes mode: when
// it parks and when it finds work after parking, not per task or batch.
// Any goroutine may read it.
type Activity struct {
	_ [CacheLinePad]byte
	// seq is odd while the owner updates the fields below, so that a
	// reader never mixes two updates (a seqlock: readers retry).
	seq   atomic.Uint64
	mode  atomic.Uint32
	stamp atomic.Int64 // clock stamp of the last change of mode
	busy  atomic.Int64 // nanoseconds spent busy, up to stamp
	alive atomic.Int64 // nanoseconds spent busy or idle, up to stamp
}

// Start records that a worker starts in the slot, idle, at clock stamp now.
func (a *Activity) Start(now int64) { a.set(activityIdle, now) }

// Busy records that the slot's worker found work at clock stamp now.
func (a *Activity) Busy(now int64) { a.set(activityBusy, now) }

// Idle records that the slot's worker ran out of work at clock stamp now.
func (a *Activity) Idle(now int64) { a.set(activityIdle, now) }

// Stop records that the slot's worker exits at clock stamp now.
func (a *Activity) Stop(now int64) { a.set(activityOff, now) }

func (a *Activity) set(mode uint32, now int64) {
	a.seq.Store(a.seq.Load() + 1)
	if d := now - a.stamp.Load(); d > 0 {
		switch a.mode.Load() {
		case activityBusy:
			a.busy.Store(a.busy.Load() + d)
			a.alive.Store(a.alive.Load() + d)
		case activityIdle:
			a.alive.Store(a.alive.Load() + d)
		}
		a.stamp.Store(now)
	}
	a.mode.Store(mode)
	a.seq.Store(a.seq.Load() + 1)
}

// activityReading is an Activity read at one instant.
type activityReading struct {
	mode        uint32
	stamp       int64 // when the current mode began
	busy, alive int64 // nanoseconds, up to the instant read
}

// read returns the slot's activity up to clock stamp now.
func (a *Activity) read(now int64) activityReading {
	for {
		if seq := a.seq.Load(); seq&1 == 0 {
			r := activityReading{mode: a.mode.Load(), stamp: a.stamp.Load(), busy: a.busy.Load(), alive: a.alive.Load()}
			if a.seq.Load() == seq {
				if d := now - r.stamp; d > 0 && r.mode != activityOff {
					r.alive += d
					if r.mode == activityBusy {
						r.busy += d
					}
				}
				return r
			}
		}
		runtime.Gosched() // the owner is between two stores: let it finish
	}
}

// Activities holds the Activity of every worker slot of a pool, each
// allocated when the slot is first used.
type Activities struct {
	slots []atomic.Pointer[Activity]
}

// NewActivities returns the activities of a pool with n worker slots.
func NewActivities(n int) *Activities {
	return &Activities{slots: make([]atomic.Pointer[Activity], n)}
}

// Slot returns slot id's Activity, allocating it on first use.
func (a *Activities) Slot(id int) *Activity {
	if act := a.slots[id].Load(); act != nil {
		return act
	}
	act := new(Activity)
	if !a.slots[id].CompareAndSwap(nil, act) {
		return a.slots[id].Load()
	}
	return act
}

// Scaler is a dynamic pool's controller: the part of the pool that does
// not depend on its task type. Every ScaleInterval its goroutine measures
// the pool (ScaleSignals), asks the policy for a size, clamps it to the
// limits, applies the Cooldown and IdleTimeout, resizes the pool through
// the function the pool gave it, and records the change. It also serves
// the pool's SetLimits and scales a pool without workers up when a task
// arrives.
//
// Between ticks, a pool whose tasks back up while every worker is busy
// calls Surge: under a ThresholdPolicy (the default) the controller then
// evaluates early, at most once per SurgeGap, and applies the policy's
// answer only if it grows the pool. A burst thus doubles a default pool
// every few milliseconds rather than every ScaleInterval (a pool of 1 took
// a second to reach 1,000 workers; short bursts of blocking tasks were all
// ramp-up), while scale-downs keep to the full interval and the Cooldown.
// The threshold policy is stateless and judges gauges and utilization,
// which a short interval measures as well; a predictive or user policy is
// called once per interval, as documented, and Surge does nothing.
//
// Measuring allocates nothing, and neither does a decision that keeps the
// size, so an idle controller costs no garbage.
type Scaler struct {
	cfg      config.DynamicSettings
	set      *config.Settings // for its hooks
	ceiling  int              // worker slots
	meter    *Meter
	acts     *Activities
	queueCap int
	depth    func() int
	resize   func(n int) bool

	quit, done chan struct{}
	closeOnce  sync.Once
	// kick carries a Surge to the controller; kicked is set from the
	// Surge that sends until the early evaluation is done, so that
	// submitters of a backed-up pool send once, not once each.
	kick    chan struct{}
	kicked  atomic.Bool
	exited  <-chan struct{} // closed when the pool's last worker has exited
	growing atomic.Bool     // size < max, open, threshold policy: a Surge may help
	policy  poolrt.ScalePolicy
	surgeOK bool // the policy is a ThresholdPolicy

	mu             sync.Mutex
	min, max, size int
	peak           int
	closed         bool
	draining       bool  // Drain was called: the pool only grows now
	lastChange     int64 // clock stamp of the last change of size
	since          int64 // clock stamp up to which atMax and atMin are counted
	atMax, atMin   time.Duration
	ups, downs     uint64
	evals, capped  uint64
	held           uint64
	last           poolrt.ScaleSignals
	events         [config.ScaleHistory]poolrt.ScaleEvent // a ring; events[nevents%ScaleHistory] is next
	nevents        uint64
	prev           scaleReading // cumulative figures at the last evaluation
	meanRun        time.Duration
	surges         uint64
}

// surgeDeclines is how many early evaluations in a row may leave the size
// as it is before the controller waits for the next Surge.
const surgeDeclines = 3

// SurgeGap returns the least time between two evaluations of a controller
// that evaluates every interval, when the pool calls Surge: a 64th of the
// interval, and at least MinScaleInterval. Doubling every gap, a default
// pool grew from 1 to 1,000 workers in 22 ms (10 doublings) under a burst
// of 1 ms tasks.
func SurgeGap(interval time.Duration) time.Duration {
	return max(interval/64, config.MinScaleInterval)
}

// scaleReading holds a pool's cumulative figures at one instant.
type scaleReading struct {
	at               int64
	submitted, ended uint64
	timed, timedSum  uint64 // sampled run times: count and sum in nanoseconds
	busy, alive      int64
}

// NewScaler returns the controller of a dynamic pool configured by set,
// whose metrics are m and worker activities acts. The pool has started
// set.Dynamic.Min workers. depth returns the number of accepted tasks not
// yet started; resize sets the number of workers and reports false when
// the pool refuses (it is stopping; while it drains, it only grows).
// exited is closed when the pool has shut down and its last worker has
// exited: the controller stops then, if Close has not stopped it before.
// Call Start to start the controller.
func NewScaler(set *config.Settings, m *Meter, acts *Activities, queueCap int, depth func() int, resize func(n int) bool, exited <-chan struct{}) *Scaler {
	now := m.Now()
	d := set.Dynamic
	s := &Scaler{
		set:        set,
		cfg:        d,
		ceiling:    set.Workers,
		meter:      m,
		acts:       acts,
		queueCap:   queueCap,
		depth:      depth,
		resize:     resize,
		quit:       make(chan struct{}),
		done:       make(chan struct{}),
		kick:       make(chan struct{}, 1),
		exited:     exited,
		min:        d.Min,
		max:        d.Max,
		size:       d.Min,
		peak:       d.Min,
		lastChange: now,
		since:      now,
		prev:       scaleReading{at: now},
	}
	switch p := d.Policy.(type) {
	case nil:
		s.policy, s.surgeOK = poolrt.ThresholdPolicy{}, true
	case poolrt.ThresholdPolicy, *poolrt.ThresholdPolicy:
		s.policy, s.surgeOK = p.(poolrt.ScalePolicy), true
	default:
		s.policy = p.(poolrt.ScalePolicy) // only poolrt's options set it
	}
	s.growing.Store(s.surgeOK && s.size < s.max)
	return s
}

// Start starts the controller's goroutine. Close stops it.
func (s *Scaler) Start() { go s.run() }

func (s *Scaler) run() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	gap := SurgeGap(s.cfg.Interval)
	var wait *time.Timer
	for {
		select {
		case <-s.quit:
			return
		case <-s.exited:
			s.Close()
			return
		case <-t.C:
			s.evaluate(false)
		case <-s.kick:
			// Evaluate a gap after the last evaluation, and again every
			// gap while tasks still wait for busy workers, until the pool
			// stops growing for surgeDeclines evaluations in a row. (The
			// first may see an interval that began before the burst, with
			// utilization below the threshold.)
			for declines := 0; declines < surgeDeclines; {
				s.mu.Lock()
				d := gap - time.Duration(s.meter.Now()-s.prev.at)
				s.mu.Unlock()
				if !s.pause(d, &wait) {
					return
				}
				if s.evaluate(true) {
					declines = 0
				} else {
					declines++
				}
				if !s.growing.Load() || !s.backlog() {
					break
				}
			}
			s.kicked.Store(false)
		}
	}
}

// pause waits d (nothing if d ≤ 0) on *timer, made on first use. It
// reports false if the controller must stop instead: Close was called, or
// the pool has exited.
func (s *Scaler) pause(d time.Duration, timer **time.Timer) bool {
	if d <= 0 {
		return true
	}
	if *timer == nil {
		*timer = time.NewTimer(d)
	} else {
		(*timer).Reset(d)
	}
	select {
	case <-s.quit:
		return false
	case <-s.exited:
		s.Close()
		return false
	case <-(*timer).C:
		return true
	}
}

// backlog reports whether more tasks wait than the pool has workers.
func (s *Scaler) backlog() bool {
	s.mu.Lock()
	n := s.size
	s.mu.Unlock()
	return s.depth() > n
}

// Drain tells the controller that the pool has stopped intake and drains
// its queue. Until the pool has exited it still evaluates, and early while
// tasks back up, but it only grows the pool (more workers drain it
// sooner); SetLimits reports ErrClosed.
func (s *Scaler) Drain() {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	if s.growing.Load() && s.backlog() {
		s.Surge()
	}
}

// Growing reports whether a Surge can do anything: the pool is open and
// below its maximum size, under a ThresholdPolicy.
func (s *Scaler) Growing() bool { return s.growing.Load() }

// Surge asks for an early evaluation: the pool's tasks back up and no
// worker is idle (call it only while Growing). It costs an atomic load
// while one is pending, and never blocks.
func (s *Scaler) Surge() {
	if s.kicked.Load() || !s.kicked.CompareAndSwap(false, true) {
		return
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Close stops the controller: it makes no more changes, and its goroutine
// exits (Wait waits for it). The pool calls it when it shuts down.
func (s *Scaler) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.account(s.meter.Now())
		s.closed = true
		s.growing.Store(false)
		s.mu.Unlock()
		close(s.quit)
	})
}

// Wait waits until the controller's goroutine has exited after Close, or
// until ctx is done (ctx's error).
func (s *Scaler) Wait(ctx context.Context) error {
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ask asks the policy for a size. A policy of the user's (ScaleWith) that
// panics is contained like any hook: counted, logged, and the pool keeps
// its size.
func (s *Scaler) ask(sig poolrt.ScaleSignals) (target int, reason string, ok bool) {
	s.set.CallHook("ScaleWith policy", func() {
		target, reason = s.policy.Scale(sig)
		ok = true
	})
	return target, reason, ok
}

// evaluate is one step of the controller: measure, ask the policy, decide.
// An early evaluation (surge) only ever grows the pool: its interval is
// short, and shrinking waits for the regular ones. It reports whether it
// grew the pool.
func (s *Scaler) evaluate(surge bool) (grew bool) {
	now := s.meter.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	sig := s.measure(now)
	s.evals++
	if surge {
		s.surges++
	}
	s.last = sig
	s.mu.Unlock()

	// The policy runs unlocked: a slow one must not hold up submitters
	// that scale a pool up from zero.
	target, reason, ok := s.ask(sig)
	if !ok {
		return false // the policy panicked: keep the size
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || sig.Workers != s.size || sig.Min != s.min || sig.Max != s.max {
		return false // changed meanwhile (SetLimits, a task arriving): the signals are stale
	}
	n := s.size
	if (surge || s.draining) && target <= n {
		return false
	}
	if !surge && s.cfg.IdleTimeout > 0 && target <= n && sig.IdleExpired > 0 {
		if to := n - sig.IdleExpired; to < target {
			target, reason = to, poolrt.ReasonIdleTimeout
		}
	}
	if target > s.max {
		s.capped++
	}
	target = min(max(target, s.min), s.max)
	if target == 0 && sig.QueueDepth > 0 {
		// Never leave accepted tasks without a worker. (The submitter of
		// a task that finds no worker starts one itself; this is for a
		// policy that asks for zero while tasks wait.)
		target = 1
		if n == 0 {
			reason = poolrt.ReasonArrival
		}
	}
	if target == n {
		return false
	}
	if target < n && time.Duration(now-s.lastChange) < s.cfg.Cooldown {
		s.held++
		return false
	}
	if reason == "" {
		reason = poolrt.ReasonPolicy
	}
	return s.apply(target, reason, sig, now) && target > n
}

// measure takes the signals of the interval that ends at clock stamp now.
// s.mu is held.
func (s *Scaler) measure(now int64) poolrt.ScaleSignals {
	r := scaleReading{at: now}
	busy, expired := 0, 0
	slots := min(max(s.peak, 1), len(s.acts.slots))
	for id := range slots {
		if a := s.acts.slots[id].Load(); a != nil {
			ar := a.read(now)
			r.busy += ar.busy
			r.alive += ar.alive
			switch ar.mode {
			case activityBusy:
				busy++
			case activityIdle:
				if s.cfg.IdleTimeout > 0 && id < s.size && now-max(ar.stamp, s.lastChange) >= int64(s.cfg.IdleTimeout) {
					expired++
				}
			}
		}
		if w := s.meter.workers[id].Load(); w != nil {
			r.ended += w.Completed.Load() + w.Panicked.Load()
		}
	}
	r.ended += s.meter.Caller.Completed.Load() + s.meter.Caller.Panicked.Load()
	r.submitted = s.meter.submitted()
	for i := range s.meter.Shards {
		sh := &s.meter.Shards[i]
		r.timed += sh.Run.count.Load()
		r.timedSum += sh.Run.sum.Load()
	}

	p := s.prev
	s.prev = r
	sig := s.gauges(now)
	sig.Interval = time.Duration(now - p.at)
	sig.Busy = busy
	sig.Arrivals = r.submitted - p.submitted
	sig.Completions = r.ended - p.ended
	sig.IdleExpired = expired
	if alive := r.alive - p.alive; alive > 0 {
		sig.Utilization = min(max(float64(r.busy-p.busy)/float64(alive), 0), 1)
	}
	switch {
	case r.timed > p.timed:
		s.meanRun = time.Duration((r.timedSum - p.timedSum) / (r.timed - p.timed))
	case s.meter.SampleEvery == 0 && sig.Completions > 0 && r.busy > p.busy:
		// No task is timed: busy time per completion is the best estimate,
		// though it splits tasks that straddle the interval's ends.
		s.meanRun = time.Duration(uint64(r.busy-p.busy) / sig.Completions)
	}
	sig.MeanRun = s.meanRun
	return sig
}

// gauges returns the signals that need no interval: the size, the limits
// and the queue. s.mu is held.
func (s *Scaler) gauges(now int64) poolrt.ScaleSignals {
	return poolrt.ScaleSignals{
		At:          s.meter.Time(now),
		Workers:     s.size,
		Min:         s.min,
		Max:         s.max,
		QueueDepth:  s.depth(),
		QueueCap:    s.queueCap,
		SinceChange: time.Duration(now - s.lastChange),
	}
}

// apply resizes the pool to `to` workers and records the change; it
// reports false, changing nothing, when the pool is shutting down. s.mu
// is held.
func (s *Scaler) apply(to int, reason string, sig poolrt.ScaleSignals, now int64) bool {
	if !s.resize(to) {
		return false
	}
	s.account(now)
	from := s.size
	s.size, s.peak, s.lastChange = to, max(s.peak, to), now
	s.growing.Store(s.surgeOK && to < s.max)
	if to > from {
		s.ups++
	} else {
		s.downs++
	}
	s.events[s.nevents%config.ScaleHistory] = poolrt.ScaleEvent{At: sig.At, From: from, To: to, Reason: reason, Signals: sig}
	s.nevents++
	return true
}

// account adds the time since the last call to atMax and atMin. s.mu is
// held.
func (s *Scaler) account(now int64) {
	if s.closed {
		return
	}
	d := time.Duration(now - s.since)
	if s.size == s.max {
		s.atMax += d
	}
	if s.size == s.min {
		s.atMin += d
	}
	s.since = now
}

// Arrived scales a pool that has no workers up to one (or its minimum).
// The pool calls it after it accepted a task and found its size zero,
// which can only happen with a minimum of zero.
func (s *Scaler) Arrived() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.size > 0 || s.closed {
		return
	}
	now := s.meter.Now()
	s.apply(max(1, s.min), poolrt.ReasonArrival, s.gauges(now), now)
}

// SetLimits changes the limits to min and max, resizing the pool at once if
// its size is outside them. It returns a *ConfigError for limits that
// cannot work (min < 0, max < 1, min > max, or max above the slots the
// pool was created with), and ErrClosed once the pool is shutting down.
func (s *Scaler) SetLimits(min, max int) error {
	if err := s.set.LimitsError(min, max, s.ceiling); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.draining {
		return poolrt.ErrClosed
	}
	now := s.meter.Now()
	s.account(now)
	s.min, s.max = min, max
	if to := clamp(s.size, min, max); to != s.size && !s.apply(to, poolrt.ReasonLimits, s.gauges(now), now) {
		return poolrt.ErrClosed
	}
	s.growing.Store(s.surgeOK && s.size < s.max)
	return nil
}

func clamp(n, lo, hi int) int { return min(max(n, lo), hi) }

// Limits returns the current limits.
func (s *Scaler) Limits() (min, max int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.min, s.max
}

// Stats returns a snapshot of the controller's figures.
func (s *Scaler) Stats() *poolrt.ScalingStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &poolrt.ScalingStats{
		Size: s.size, Min: s.min, Max: s.max, Peak: s.peak,
		Ups: s.ups, Downs: s.downs, Evaluations: s.evals, Surges: s.surges, Capped: s.capped, Held: s.held,
		AtMax: s.atMax, AtMin: s.atMin,
		Last: s.last,
	}
	if !s.closed {
		d := s.meter.Since(s.since)
		if s.size == s.max {
			st.AtMax += d
		}
		if s.size == s.min {
			st.AtMin += d
		}
	}
	n := min(s.nevents, config.ScaleHistory)
	st.Events = make([]poolrt.ScaleEvent, n)
	for i := range n {
		st.Events[i] = s.events[(s.nevents-n+i)%config.ScaleHistory]
	}
	return st
}
