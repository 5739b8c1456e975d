// Package multi has two task types marked by directives, generated into one
// file without -type.
package multi

import "context"

// Email is sent by value.
//
//poolgen:pools fixed
type Email struct{ To string }

func (e Email) Run(context.Context) error { return nil }

type (
	// Report is built in place.
	//
	//poolgen:pools fixed
	Report struct{ Rows int }

	// NotATask has no directive and is ignored.
	NotATask struct{}
)

func (r *Report) Run(context.Context) error { return nil }
