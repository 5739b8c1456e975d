package templates

import "context"

// BatchPool hands batches to its handler.
type BatchPool[T Keyed[K], K comparable] struct {
	handle BatchHandler[T]
	kept   []BatchHandler[T]
	self   *BatchPool[T, K]
}

// Flush hands batch to the handler, by ways that generated code, which
// calls the user's function by name, has no handler value for.
func (p *BatchPool[T, K]) Flush(ctx context.Context, batch []T) error {
	h := p.handle
	if p.handle != nil {
		p.kept = append(p.kept, h)
	}
	_ = BatchHandler[T](nil)
	return p.self.handle(ctx, batch)
}
