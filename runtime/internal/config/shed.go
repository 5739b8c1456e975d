package config

import "time"

// Defaults of poolrt.Shed: CoDel's figures (Nichols and Jacobson), a
// target of 5 ms over an interval of 100 ms.
const (
	DefaultShedTarget   = 5 * time.Millisecond
	DefaultShedInterval = 100 * time.Millisecond
)

// ShedSettings is a pool's load shedding (poolrt.Shed); Target 0 means
// off.
type ShedSettings struct {
	Target, Interval time.Duration
	// Option is the option as written, for errors found when the other
	// options are known.
	Option string
}

// checkShed checks shedding against the other options: it measures
// queue waits on the tasks that latency sampling times, so it needs
// latency metrics on.
func (s *Settings) checkShed() error {
	if s.Shed.Target > 0 && !s.Metrics {
		return &ConfigError{Option: s.Shed.Option, Reason: "shedding measures the queue wait of the tasks latency sampling times; leave out Metrics(false)"}
	}
	return nil
}
