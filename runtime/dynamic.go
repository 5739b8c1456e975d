package poolrt

// DynamicSettings configures a dynamic pool.
type DynamicSettings struct{}

// resolveDynamic applies the dynamic pool's defaults and checks its settings
// once every option is applied.
func (s *Settings) resolveDynamic(procs int) error { return nil }

// ScalingStats is the dynamic-specific part of a pool's Stats.
type ScalingStats struct{}
