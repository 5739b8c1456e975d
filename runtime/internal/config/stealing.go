package config

// Deque sizes of the work-stealing pool.
const (
	// DefaultDequeSize is the capacity of each worker's deque when
	// [DequeSize] is not given. 256 slots hold a deep fork tree's pending
	// subtasks (a divide-and-conquer task keeps about one pending subtask
	// per level of recursion on its worker) and cost 256 × (size of the
	// task + 16) bytes per worker.
	DefaultDequeSize = 256
	// MaxDequeSize bounds DequeSize: deque positions are 32-bit counters
	// that wrap, and a slot must never be reachable from two positions
	// that are both in use.
	MaxDequeSize = 1 << 24
)

// StealingSettings configures a work-stealing pool.
type StealingSettings struct {
	// DequeSize is the capacity of each worker's deque, a power of two.
	DequeSize int
}

// resolveStealing applies the stealing pool's defaults and checks its settings
// once every option is applied.
func (s *Settings) resolveStealing(procs int) error {
	if s.Stealing.DequeSize == 0 {
		s.Stealing.DequeSize = DefaultDequeSize
	}
	return nil
}
