// Package registry holds the pools that have a name (poolrt.Name): the one
// list package poolmon's page, its history and the Prometheus exporter
// read. Pools add themselves when they start and remove themselves when
// they shut down, so a pool that is gone is never reported and never kept
// alive by the list.
package registry

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// Entry is one registered pool. Its functions are the pool's own methods;
// they are safe to call from any goroutine, also after the pool shut down.
type Entry struct {
	listed  bool   // guarded by mu: All reports the entry
	Name    string // unique among registered pools
	Pattern string // "fixed", "dynamic", "stealing", "priority", "batch", "fair" or "router"
	Task    string // the task type, as package.Type
	Stats   func() poolrt.Stats
	// SetLimits changes a dynamic pool's worker limits; nil for the other
	// patterns.
	SetLimits func(min, max int) error
}

var (
	mu      sync.Mutex
	entries = map[string]*Entry{}
)

// ErrTaken is wrapped by Add's error for a name already registered.
var ErrTaken = errors.New("poolgen: pool name taken")

// Add registers e and lists it at once.
func Add(e *Entry) error {
	if err := Reserve(e); err != nil {
		return err
	}
	List(e)
	return nil
}

// Reserve takes e's name without listing e yet, for a pool that is being
// built: its Stats may not be called before List. A name must be unique
// while its pool runs: two pools reported under one name would merge into
// one series of numbers.
func Reserve(e *Entry) error {
	if e.Name == "" || strings.TrimSpace(e.Name) != e.Name {
		return fmt.Errorf("poolgen: pool name %q: want a non-empty name without surrounding spaces", e.Name)
	}
	mu.Lock()
	defer mu.Unlock()
	if _, ok := entries[e.Name]; ok {
		return fmt.Errorf("%w: a running pool is named %q; shut it down first or pick another name", ErrTaken, e.Name)
	}
	entries[e.Name] = e
	return nil
}

// List makes a reserved entry visible to All.
func List(e *Entry) {
	mu.Lock()
	e.listed = true
	mu.Unlock()
}

// Remove unregisters e; it does nothing if e is not registered (a second
// Shutdown, or a name that another pool took over since).
func Remove(e *Entry) {
	mu.Lock()
	defer mu.Unlock()
	if entries[e.Name] == e {
		delete(entries, e.Name)
	}
}

// All returns the registered pools, sorted by name.
func All() []*Entry {
	mu.Lock()
	all := make([]*Entry, 0, len(entries))
	for _, e := range entries {
		if e.listed {
			all = append(all, e)
		}
	}
	mu.Unlock()
	slices.SortFunc(all, func(a, b *Entry) int { return strings.Compare(a.Name, b.Name) })
	return all
}
