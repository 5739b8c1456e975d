package breaker

import (
	"sync"
	"sync/atomic"
)

// Keyed maps a pool's tasks to one breaker per key (poolrt.BreakerKey).
// It holds up to MaxKeys breakers; a new key past them takes the place of
// a closed breaker, which forgets its recent failures, or, when every
// breaker held is open or half-open, shares the group's own breaker
// (One) with the other keys past the bound.
type Keyed[T any, K comparable] struct {
	g   *Group
	key func(T) K
	mu  sync.Mutex // held while adding a key
	// m is read without the lock: a new map replaces it on every add.
	m atomic.Pointer[map[K]*Breaker]
}

// Picker is what a pool needs of a keyed set: a task's breaker.
type Picker[T any] interface {
	Pick(t *T) *Breaker
}

// NewKeyed returns g's keyed set over the key function key, and makes
// g's snapshots list its keys.
func NewKeyed[T any, K comparable](g *Group, key func(T) K) *Keyed[T, K] {
	k := &Keyed[T, K]{g: g, key: key}
	m := make(map[K]*Breaker)
	k.m.Store(&m)
	g.keys = k.list
	return k
}

// Pick returns t's breaker. A key function that panics gives the shared
// breaker, and g.KeyPanicked hears of the panic.
func (k *Keyed[T, K]) Pick(t *T) *Breaker {
	key, ok := k.keyOf(t)
	if !ok {
		return k.g.one
	}
	if b := (*k.m.Load())[key]; b != nil {
		return b
	}
	return k.add(key)
}

// keyOf calls the key function, recovering a panic.
func (k *Keyed[T, K]) keyOf(t *T) (key K, ok bool) {
	defer func() {
		if !ok {
			v := recover()
			if k.g.KeyPanicked != nil {
				k.g.KeyPanicked(v)
			}
		}
	}()
	return k.key(*t), true
}

// add returns key's breaker, making it.
func (k *Keyed[T, K]) add(key K) *Breaker {
	k.mu.Lock()
	defer k.mu.Unlock()
	old := *k.m.Load()
	if b := old[key]; b != nil {
		return b
	}
	m := make(map[K]*Breaker, len(old)+1)
	evicted := len(old) < k.g.MaxKeys
	for kk, b := range old {
		if !evicted {
			if st, _ := b.State(); st == Closed {
				evicted = true
				continue
			}
		}
		m[kk] = b
	}
	if !evicted {
		return k.g.one
	}
	b := k.g.newBreaker(key)
	m[key] = b
	k.m.Store(&m)
	return b
}

// list appends the breakers held to out and returns it and their number.
func (k *Keyed[T, K]) list(out []*Breaker) ([]*Breaker, int) {
	m := *k.m.Load()
	for _, b := range m {
		out = append(out, b)
	}
	return out, len(m)
}
