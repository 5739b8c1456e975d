package templates

// FixedPool runs each T.
type FixedPool[T Task] struct{ tasks []T }

// pair has two type parameters, and neither is a key: which is the task?
func pair[T Task, U Task](t T, u U) {}

// keyOf has a key type parameter, but a fixed pool's task has no key.
func keyOf[T Keyed[K], K comparable](t T) K { return t.BatchKey() }

// twin is a type with two type parameters, neither of them a key.
type twin[T Task, U Task] struct{}

// twoKeys has two key type parameters, but a task has one key.
func twoKeys[T Pair[K, L], K comparable, L comparable](t T) {}
