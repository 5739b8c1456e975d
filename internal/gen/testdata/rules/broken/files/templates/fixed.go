package templates

// FixedPool runs each T.
type FixedPool[T Task] struct{ tasks []T }

// DynamicPool runs each T too, but in the file of FixedPool, so a run
// for fixed pools would emit it.
type DynamicPool[T Task] struct{ tasks []T }
