package poolimpl

import "fmt"

// FlushReason says why a batch was handed to the handler.
type FlushReason uint8

const (
	FlushFull     FlushReason = iota // it reached MaxBatch
	FlushLinger                      // its Linger time ran out
	FlushIdle                        // Linger(0): a worker was free
	FlushShutdown                    // the pool shut down
	numFlushReasons
)

func (r FlushReason) String() string {
	switch r {
	case FlushFull:
		return "full"
	case FlushLinger:
		return "linger"
	case FlushIdle:
		return "idle"
	case FlushShutdown:
		return "shutdown"
	}
	return fmt.Sprintf("FlushReason(%d)", uint8(r))
}
