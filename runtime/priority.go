package poolrt

// PrioritySettings configures a priority pool.
type PrioritySettings struct{}

// resolvePriority applies the priority pool's defaults and checks its settings
// once every option is applied.
func (s *Settings) resolvePriority(procs int) error { return nil }

// PriorityStats is the priority-specific part of a pool's Stats.
type PriorityStats struct{}
