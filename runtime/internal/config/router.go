package config

import "time"

// DefaultLendInterval is how often a lending router rebalances unless
// LendEvery says otherwise.
const DefaultLendInterval = 10 * time.Millisecond

// RouterOption configures a router. Package poolrt builds them (Lend,
// LendEvery, RouterName) and re-exports the type.
type RouterOption struct {
	text  string
	apply func(*RouterSettings) (reason string)
}

// NewRouterOption returns a router option written as text in code that
// applies itself with apply; apply returns why the value cannot work, or
// "".
func NewRouterOption(text string, apply func(*RouterSettings) (reason string)) RouterOption {
	return RouterOption{text, apply}
}

// String returns the option as written in code, for example "Lend(16)".
func (o RouterOption) String() string { return o.text }

// RouterSettings is what a router's options resolve to.
type RouterSettings struct {
	// Budget is the number of workers the lent classes share; 0 turns
	// lending off.
	Budget int
	// Interval is how often the router measures the classes and moves
	// workers.
	Interval time.Duration
	// Name is the router's name (RouterName); "" for none.
	Name string
}

// ResolveRouter applies opts over the defaults.
func ResolveRouter(opts []RouterOption) (RouterSettings, error) {
	s := RouterSettings{Interval: DefaultLendInterval}
	for _, o := range opts {
		if o.apply == nil {
			return s, &ConfigError{Option: "RouterOption{}", Reason: "the zero RouterOption; use Lend, LendEvery or RouterName"}
		}
		if reason := o.apply(&s); reason != "" {
			return s, &ConfigError{Option: o.text, Reason: reason}
		}
	}
	return s, nil
}
