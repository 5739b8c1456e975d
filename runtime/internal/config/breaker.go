package config

import "github.com/poolgen/poolgen/runtime/internal/breaker"

// BreakerSettings is a pool's circuit breaker (poolrt.Breaker,
// poolrt.BreakerKey). Group is nil when the pool has none.
type BreakerSettings struct {
	Policy breaker.Policy
	// Group is the pool's breakers, made by Resolve; shared by the
	// Settings' copies.
	Group *breaker.Group
	// Key, from BreakerKey, makes the keyed set of a group: a
	// breaker.Picker[T] of the key function's task type T, held as any
	// since options are not generic; KeyText is the option as written.
	Key     func(*breaker.Group) any
	KeyText string
	given   bool
}

// SetBreaker records the breaker policy p (poolrt.Breaker).
func (s *Settings) SetBreaker(p breaker.Policy) {
	s.Breaker.Policy, s.Breaker.given = p, true
}

// resolveBreaker makes the pool's breakers, if it has any.
func (s *Settings) resolveBreaker() error {
	b := &s.Breaker
	if !b.given {
		if b.Key != nil {
			return &ConfigError{Option: b.KeyText, Reason: "a key function needs a breaker: give Breaker(...) too"}
		}
		return nil
	}
	b.Group = breaker.NewGroup(b.Policy)
	return nil
}
