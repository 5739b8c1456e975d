package templates

import "time"

// DeadlinePool queues each T by its Deadline.
type DeadlinePool[T Timed] struct {
	queue []T
	due   []time.Time
}

// Push queues t by its deadline.
func (p *DeadlinePool[T]) Push(t T) {
	p.queue = append(p.queue, t)
	p.due = append(p.due, t.Deadline())
}
