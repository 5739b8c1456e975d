package templates

// CostPool queues each T by its Cost.
type CostPool[T Costed] struct {
	queue []T
	costs []int64
}

// Push queues t by its cost.
func (p *CostPool[T]) Push(t T) {
	p.queue = append(p.queue, t)
	p.costs = append(p.costs, t.Cost())
}
