package poolrt

// StealingSettings configures a stealing pool.
type StealingSettings struct{}

// resolveStealing applies the stealing pool's defaults and checks its settings
// once every option is applied.
func (s *Settings) resolveStealing(procs int) error { return nil }

// StealingStats is the stealing-specific part of a pool's Stats.
type StealingStats struct{}
