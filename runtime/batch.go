package poolrt

// BatchSettings configures a batch pool.
type BatchSettings struct{}

// resolveBatch applies the batch pool's defaults and checks its settings
// once every option is applied.
func (s *Settings) resolveBatch(procs int) error { return nil }

// BatchStats is the batch-specific part of a pool's Stats.
type BatchStats struct{}
