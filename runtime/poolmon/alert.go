package poolmon

import (
	"fmt"
	"time"
)

// DefaultFireAfter and DefaultResolveAfter are the hysteresis of a Rule
// whose FireAfter or ResolveAfter is zero: three intervals either way,
// so that one slow second neither pages anyone nor clears a real alert.
const (
	DefaultFireAfter    = 3
	DefaultResolveAfter = 3
)

// Rule is a degradation rule, checked on every pool's every interval.
// It fires for a pool after FireAfter bad intervals in a row and resolves
// after ResolveAfter good ones in a row: a signal that alternates between
// bad and good neither fires nor, once firing, resolves.
type Rule struct {
	// Name tells the rule's alerts apart; unique among a Monitor's rules.
	Name string
	// Check returns the interval's measure and whether it is degraded.
	Check func(Sample) (value float64, bad bool)
	// FireAfter is the number of bad intervals in a row that fire the
	// rule (default DefaultFireAfter).
	FireAfter int
	// ResolveAfter is the number of good intervals in a row that resolve
	// it (default DefaultResolveAfter).
	ResolveAfter int
}

// check validates r and fills in its defaults.
func (r *Rule) check() error {
	switch {
	case r.Name == "":
		return fmt.Errorf("poolgen: alert rule without a name")
	case r.Check == nil:
		return fmt.Errorf("poolgen: alert rule %q has no Check function", r.Name)
	case r.FireAfter < 0 || r.ResolveAfter < 0:
		return fmt.Errorf("poolgen: alert rule %q: FireAfter and ResolveAfter cannot be negative (0 means the default)", r.Name)
	}
	if r.FireAfter == 0 {
		r.FireAfter = DefaultFireAfter
	}
	if r.ResolveAfter == 0 {
		r.ResolveAfter = DefaultResolveAfter
	}
	return nil
}

// WaitP99Above is bad when the 99th percentile of the queue wait of the
// tasks timed in the interval is above target. Its value is that
// percentile in seconds. An interval in which no timed task started is
// good: a pool that starts nothing is Stuck's business.
func WaitP99Above(target time.Duration) Rule {
	return Rule{Name: "wait-p99", Check: func(s Sample) (float64, bool) {
		return s.WaitP99.Seconds(), s.WaitP99 > target
	}}
}

// Saturation is bad when the workers were busy 95% of the interval or
// more and the queue grew over it: the pool is not keeping up. Its value
// is the utilization.
func Saturation() Rule {
	return Rule{Name: "saturation", Check: func(s Sample) (float64, bool) {
		return s.Utilization, s.Utilization >= 0.95 && s.QueueGrowth > 0
	}}
}

// FailureRateAbove is bad when more than fraction of the tasks that ended
// in the interval failed or panicked. Its value is that fraction; an
// interval in which no task ended is good.
func FailureRateAbove(fraction float64) Rule {
	return Rule{Name: "failure-rate", Check: func(s Sample) (float64, bool) {
		ended := s.Completed + s.Panicked
		if ended == 0 {
			return 0, false
		}
		f := float64(s.Failed+s.Panicked) / float64(ended)
		return f, f > fraction
	}}
}

// Stuck is bad when no task ended in the interval while tasks were
// queued from its start to its end. Its value is the queue depth.
func Stuck() Rule {
	return Rule{Name: "stuck", Check: func(s Sample) (float64, bool) {
		waiting := s.QueueDepth > 0 && s.QueueDepth-s.QueueGrowth > 0
		return float64(s.QueueDepth), waiting && s.Completed+s.Panicked == 0
	}}
}

// Alert is a rule starting (Firing) or stopping to fire for a pool.
type Alert struct {
	Pool   string `json:"pool"`
	Rule   string `json:"rule"`
	Firing bool   `json:"firing"` // false: resolved
	// Value is the rule's measure in the interval that changed the state
	// (for a pool that left the registry, in its last interval).
	Value float64 `json:"value"`
	// Since is the start of the first bad interval of the episode: for a
	// resolved alert, At − Since is how long the degradation lasted.
	Since time.Time `json:"since"`
	At    time.Time `json:"at"` // end of the interval that changed the state
}

type alertKey struct{ pool, rule string }

type alertState struct {
	bad, good int // consecutive intervals
	firing    bool
	streak    time.Time // start of the current run of bad intervals
	value     float64
}

// watch checks the rules on a pool's new sample and returns the alerts
// that changed state; m.mu must be held.
func (m *Monitor) watch(pool string, s Sample) []Alert {
	var out []Alert
	for i := range m.rules {
		r := &m.rules[i]
		k := alertKey{pool, r.Name}
		st := m.alerts[k]
		if st == nil {
			st = &alertState{}
			m.alerts[k] = st
		}
		v, bad := r.Check(s)
		st.value = v
		switch {
		case bad && !st.firing:
			if st.bad == 0 {
				st.streak = s.At.Add(-time.Duration(s.Seconds * float64(time.Second)))
			}
			st.bad++
			if st.bad >= r.FireAfter {
				st.firing, st.good = true, 0
				out = append(out, Alert{Pool: pool, Rule: r.Name, Firing: true, Value: v, Since: st.streak, At: s.At})
			}
		case !bad && !st.firing:
			st.bad = 0
		case bad && st.firing:
			st.good = 0
		case !bad && st.firing:
			st.good++
			if st.good >= r.ResolveAfter {
				st.firing, st.bad = false, 0
				out = append(out, Alert{Pool: pool, Rule: r.Name, Value: v, Since: st.streak, At: s.At})
			}
		}
	}
	return out
}

// forget drops the alert states of a pool that left the registry and
// resolves those that were firing: nobody can act on a pool that is gone.
// m.mu must be held.
func (m *Monitor) forget(pool string, now time.Time) []Alert {
	var out []Alert
	for _, r := range m.rules {
		k := alertKey{pool, r.Name}
		if st := m.alerts[k]; st != nil && st.firing {
			out = append(out, Alert{Pool: pool, Rule: r.Name, Value: st.value, Since: st.streak, At: now})
		}
		delete(m.alerts, k)
	}
	return out
}

// Alerts returns the alerts firing now, by pool and rule.
func (m *Monitor) Alerts() []Alert {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.firing()
}

// firing lists the firing alerts; m.mu must be held.
func (m *Monitor) firing() []Alert {
	out := []Alert{}
	for _, s := range m.sortedSeries() {
		for _, r := range m.rules {
			if st := m.alerts[alertKey{s.name, r.Name}]; st != nil && st.firing {
				out = append(out, Alert{Pool: s.name, Rule: r.Name, Firing: true, Value: st.value, Since: st.streak, At: s.prevAt})
			}
		}
	}
	return out
}

// report logs a and hands it to the user's callback, containing a panic
// there so that one bad callback does not end the monitoring.
func (m *Monitor) report(a Alert) {
	attrs := []any{"pool", a.Pool, "rule", a.Rule, "value", a.Value, "since", a.Since}
	if a.Firing {
		m.log.Warn("poolgen: pool degraded", attrs...)
	} else {
		m.log.Info("poolgen: pool recovered", append(attrs, "lasted", a.At.Sub(a.Since))...)
	}
	if m.onAlert == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			m.log.Error("poolgen: alert callback panicked; monitoring goes on", "pool", a.Pool, "rule", a.Rule, "panic", fmt.Sprint(v))
		}
	}()
	m.onAlert(a)
}
