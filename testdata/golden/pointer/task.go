// Package pointer has a task type with a pointer receiver and a lock.
package pointer

import (
	"context"
	"sync"
)

// Thumb renders a thumbnail into itself.
//
//poolgen:pools fixed
type Thumb struct {
	mu     sync.Mutex
	Size   int
	pixels []byte
}

func (t *Thumb) Run(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pixels = make([]byte, t.Size)
	return nil
}
