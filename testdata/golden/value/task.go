// Package value has a plain value-receiver task type.
package value

import "context"

// Resize scales an image.
//
//poolgen:pools fixed
type Resize struct {
	Src           string
	Width, Height int
}

func (r Resize) Run(ctx context.Context) error { return nil }
