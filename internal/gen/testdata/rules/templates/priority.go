package templates

// PriorityPool queues each T by its Priority.
type PriorityPool[T Ranked] struct {
	queue []T
	ranks []int64
}

// Push queues t by its priority.
func (p *PriorityPool[T]) Push(t T) {
	p.queue = append(p.queue, t)
	p.ranks = append(p.ranks, t.Priority())
}
