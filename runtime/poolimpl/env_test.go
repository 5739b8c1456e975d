package poolimpl

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	poolrt "github.com/poolgen/poolgen/runtime"
)

type envTestKey struct{}

// TestResourceLookup: a worker's context answers its resource, through
// contexts derived from it too, allocating nothing; other keys go to the
// context beneath, and a closed resource is not answered.
func TestResourceLookup(t *testing.T) {
	x := new(int)
	parent := context.WithValue(context.Background(), envTestKey{}, "beneath")
	c := &envCtx{Context: parent, res: x, open: true}
	derived, cancel := context.WithCancel(c)
	defer cancel()
	allocs := testing.AllocsPerRun(1000, func() {
		if r, ok := poolrt.Resource[*int](c); !ok || r != x {
			t.Fatal("Resource did not find the resource")
		}
		if r, ok := poolrt.Resource[*int](derived); !ok || r != x {
			t.Fatal("Resource did not find the resource through a derived context")
		}
	})
	assert.Zero(t, allocs, "allocations per Resource")
	assert.Equal(t, "beneath", c.Value(envTestKey{}))
	_, ok := poolrt.Resource[string](c)
	assert.False(t, ok, "another type")
	c.open = false
	_, ok = poolrt.Resource[*int](c)
	assert.False(t, ok, "closed")
	_, ok = poolrt.Resource[*int](context.Background())
	assert.False(t, ok, "not a worker's context")
}
