// Package value is a task type run by value. Its golden shows: the task
// type parameter written as the task type (T becomes Email), type
// parameter lists and the instantiations of the templates' generics
// dropped (FixedPool[T] becomes EmailFixedPool), package-level names
// prefixed (NewFixedPool becomes NewEmailFixedPool, runOne
// poolgenEmailRunOne), a declaration no pool uses left out (unused), the
// imports the template code uses (poolrt under its own name), and comments
// rewritten: the doc comments' first words, exported names, T, and the
// article before a renamed name ("An EmailFixedPool").
package value

import "context"

// Email is sent by a fixed pool.
//
//poolgen:pools fixed
type Email struct{ To string }

func (e Email) Run(context.Context) error { return nil }
