package templates

// FixedPool runs each T.
type FixedPool[T Task] struct{ tasks []T }

// Runs every task: a doc comment that does not start with runAll.
func runAll[T Task](p *FixedPool[T]) {}

type done struct{}
