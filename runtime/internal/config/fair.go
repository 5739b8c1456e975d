package config

// The fair pattern shares its workers between tenants by weight. Its
// settings: how many tasks each tenant may queue, and the tenants'
// weights.

// Limits of the fair pool's settings.
const (
	// MaxTenantWeight bounds a tenant's weight: the share of a tenant of
	// weight w among tenants of total weight W is w/W, so a range of a
	// million to one is far past any useful ratio, and keeps the virtual
	// time arithmetic exact enough (float64) for years of run time.
	MaxTenantWeight = 1 << 20
	// DefaultTenantQueueDivisor sizes the default per-tenant queue: a
	// tenant may queue QueueSize/DefaultTenantQueueDivisor tasks (at
	// least one), so that one tenant flooding the pool fills its own
	// queue, not the pool's.
	DefaultTenantQueueDivisor = 8
)

// FairSettings configures a fair pool.
type FairSettings struct {
	// TenantQueue is the most tasks one tenant may have queued; a tenant
	// at the limit meets the pool's backpressure (OnFull) alone.
	TenantQueue int
	// Weights is the weight of each tenant named by TenantWeights, a
	// map[K]int for the pool's tenant type K, held as any since options
	// are not generic; WeightFunc is TenantWeight's func(K) int. The pool
	// checks their type when it is created. Tenants without a weight
	// have weight 1.
	Weights    any
	WeightFunc any

	// The options that set the fields above, as written, for errors.
	TenantQueueOption, WeightsOption, WeightFuncOption string
}

// resolveFair applies the fair pool's defaults and checks its settings
// once every option is applied.
func (s *Settings) resolveFair(procs int) error {
	f := &s.Fair
	if f.Weights != nil && f.WeightFunc != nil {
		return &ConfigError{Option: f.WeightFuncOption, Reason: "TenantWeights is given too; give one of them"}
	}
	return nil
}

// resolveTenantQueue sizes the per-tenant queue once QueueSize is known:
// by default QueueSize/DefaultTenantQueueDivisor, and never above
// QueueSize: a larger one means no limit of its own.
func (s *Settings) resolveTenantQueue() error {
	f := &s.Fair
	if f.TenantQueue == 0 {
		f.TenantQueue = max(1, s.QueueSize/DefaultTenantQueueDivisor)
		return nil
	}
	f.TenantQueue = min(f.TenantQueue, s.QueueSize) // no tenant limit: QueueSize bounds all
	return nil
}
