package registry

import (
	"errors"
	"testing"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func entry(name string) *Entry {
	return &Entry{Name: name, Pattern: "fixed", Task: "x.T", Stats: func() poolrt.Stats { return poolrt.Stats{} }}
}

func TestRegistry(t *testing.T) {
	a, b, b2 := entry("b-pool"), entry("a-pool"), entry("a-pool")
	require.NoError(t, Add(a))
	require.NoError(t, Add(b))
	err := Add(b2)
	assert.True(t, errors.Is(err, ErrTaken), "%v", err)
	assert.ErrorContains(t, err, `"a-pool"`)
	assert.Equal(t, []*Entry{b, a}, All(), "sorted by name")

	Remove(b2) // not the registered one: nothing happens
	assert.Equal(t, []*Entry{b, a}, All())
	Remove(b)
	require.NoError(t, Add(b2), "a name is free again once its pool left")
	Remove(a)
	Remove(a)
	assert.Equal(t, []*Entry{b2}, All())
	Remove(b2)
	assert.Empty(t, All())
}

func TestBadName(t *testing.T) {
	for _, n := range []string{"", " x", "x\n"} {
		assert.ErrorContains(t, Add(entry(n)), "non-empty name", "%q", n)
	}
	assert.Empty(t, All())
}
