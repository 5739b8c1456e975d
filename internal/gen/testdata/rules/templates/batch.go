package templates

import (
	"context"
	"errors"
)

// BatchPool hands the tasks of one key to its handler together.
// A BatchPool is not safe for concurrent use; NewBatchPool makes one.
type BatchPool[T Keyed[K], K comparable] struct {
	handle  BatchHandler[T]
	batches map[K][]T
}

// NewBatchPool returns a BatchPool that hands batches to handle. Only this
// nil check uses package errors, so a run that removes it does not import
// errors.
func NewBatchPool[T Keyed[K], K comparable](handle BatchHandler[T]) (*BatchPool[T, K], error) {
	if handle == nil {
		return nil, errors.New("templates: the batch handler is nil")
	}
	return &BatchPool[T, K]{handle: handle, batches: map[K][]T{}}, nil
}

// Add adds t to the batch of its key.
func (p *BatchPool[T, K]) Add(t T) {
	k := t.BatchKey()
	p.batches[k] = append(p.batches[k], t)
}

// Flush hands each batch to the handler, and stops at the first that
// fails.
func (p *BatchPool[T, K]) Flush(ctx context.Context) error {
	for k, batch := range p.batches {
		delete(p.batches, k)
		if err := p.handle(ctx, batch); err != nil {
			return err
		}
	}
	return nil
}
