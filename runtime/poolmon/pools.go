package poolmon

import (
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/registry"
)

// Pool is a named pool's identity and a snapshot of its statistics.
type Pool struct {
	Name    string // as given to poolrt.Name
	Pattern string // "fixed", "dynamic", "stealing", "priority", "batch", "fair" or "router"
	Task    string // the task type, as package.Type
	Stats   poolrt.Stats
}

// Pools returns every running pool that has a name, sorted by name, with
// its statistics read now. A pool appears when its constructor returns and
// leaves when its last worker has exited after Shutdown or ShutdownNow.
func Pools() []Pool {
	all := registry.All()
	pools := make([]Pool, len(all))
	for i, e := range all {
		pools[i] = Pool{Name: e.Name, Pattern: e.Pattern, Task: e.Task, Stats: e.Stats()}
	}
	return pools
}
