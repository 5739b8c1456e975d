package generated

import (
	"context"
	"fmt"
	"sync"
)

//go:generate go run github.com/poolgen/poolgen/cmd/poolgen -type=Thumb

// Thumb is an example task with a pointer receiver: render a thumbnail and
// keep the result in the task itself. The pool holds *Thumb, so Run's
// writes are visible to whoever submitted the task once it has run, and the
// mutex inside is never copied.
//
//poolgen:pools fixed
type Thumb struct {
	mu     sync.Mutex
	Name   string
	Size   int
	pixels []byte
}

// Run renders a Size×Size grey-scale gradient.
func (t *Thumb) Run(ctx context.Context) error {
	if t.Size <= 0 || t.Size > 4096 {
		return fmt.Errorf("thumb %q: size %d out of range (1..4096)", t.Name, t.Size)
	}
	px := make([]byte, t.Size*t.Size)
	for i := range px {
		px[i] = byte(i % t.Size * 255 / t.Size)
	}
	t.mu.Lock()
	t.pixels = px
	t.mu.Unlock()
	return nil
}

// Pixels returns the rendered thumbnail, or nil before Run.
func (t *Thumb) Pixels() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pixels
}
