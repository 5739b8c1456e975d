package generated

import (
	"context"
	"errors"
	"hash/fnv"
	"sync/atomic"
)

//go:generate go run github.com/poolgen/poolgen/cmd/poolgen -type=Resize

// Resize is an example task with a value receiver: scale an image given by
// its source name to Width×Height. The pool stores Resize values inline in
// its queue, so submitting one allocates nothing.
//
//poolgen:pools fixed,dynamic
type Resize struct {
	Src           string
	Width, Height int
	// Done, if non-nil, counts finished resizes and accumulates a checksum
	// of their output, standing in for writing the image somewhere.
	Done *Totals
}

// Totals accumulates the results of Resize tasks.
type Totals struct {
	Count atomic.Int64
	Sum   atomic.Uint64
}

// ErrEmptySource is returned by Resize.Run for a task without a source.
var ErrEmptySource = errors.New("resize: empty source")

// Run "resizes" the image: it hashes the source name once per output row,
// a small CPU-bound job proportional to the output height.
func (r Resize) Run(ctx context.Context) error {
	if r.Src == "" {
		return ErrEmptySource
	}
	h := fnv.New64a()
	var sum uint64
	for y := range r.Height {
		h.Reset()
		h.Write([]byte(r.Src))
		sum += h.Sum64() ^ uint64(y*r.Width)
	}
	if r.Done != nil {
		r.Done.Count.Add(1)
		r.Done.Sum.Add(sum)
	}
	return nil
}
