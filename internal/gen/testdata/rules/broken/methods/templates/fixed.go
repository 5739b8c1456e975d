package templates

// FixedPool runs each T, and keeps its Priority method rather than calling
// it.
type FixedPool[T Ranked] struct{ ranks []func() int64 }

// Submit keeps t's Priority.
func (p *FixedPool[T]) Submit(t T) {
	p.ranks = append(p.ranks, t.Priority)
	_ = T.Priority
}
