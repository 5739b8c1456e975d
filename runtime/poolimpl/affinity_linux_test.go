package poolimpl

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCPUList(t *testing.T) {
	for in, want := range map[string][]int{
		"":            nil,
		"0":           {0},
		"0-3":         {0, 1, 2, 3},
		"0-1,8,10-11": {0, 1, 8, 10, 11},
	} {
		got, err := parseCPUList(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"x", "3-1", "1-x", "-1", "1,,2"} {
		_, err := parseCPUList(bad)
		assert.Error(t, err, bad)
	}
}

// TestNUMANodes reads a made-up two-node system: nodes in numeric order
// (node10 after node2), entries that are not nodes skipped.
func TestNUMANodes(t *testing.T) {
	root := t.TempDir()
	for node, list := range map[string]string{"node0": "0-1\n", "node2": "2,3\n", "node10": "4\n"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, node), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, node, "cpulist"), []byte(list), 0o644))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(root, "nodefoo"), 0o755))
	nodes, err := numaNodes(root)
	require.NoError(t, err)
	assert.Equal(t, [][]int{{0, 1}, {2, 3}, {4}}, nodes)

	require.NoError(t, os.WriteFile(filepath.Join(root, "node0", "cpulist"), []byte("bad"), 0o644))
	_, err = numaNodes(root)
	assert.ErrorContains(t, err, "bad CPU list")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "node7"), 0o755))
	_, err = numaNodes(root)
	assert.Error(t, err, "a node without a cpulist")

	nodes, err = numaNodes(filepath.Join(root, "missing"))
	require.NoError(t, err)
	assert.Empty(t, nodes, "no nodes listed")
}

// TestSpread: consecutive positions alternate between nodes; CPUs outside
// the process's mask are left out, and CPUs no node lists go last.
func TestSpread(t *testing.T) {
	nodes := [][]int{{0, 1, 2, 3}, {4, 5, 6, 7}}
	got, n := spread([]int{0, 1, 2, 4, 5, 6, 7, 9}, nodes)
	assert.Equal(t, []int{0, 4, 1, 5, 2, 6, 7, 9}, got)
	assert.Equal(t, 2, n)

	got, n = spread([]int{0, 1}, nil)
	assert.Equal(t, []int{0, 1}, got, "no NUMA information: the mask's order")
	assert.Equal(t, 1, n)

	got, n = spread([]int{4, 5}, nodes)
	assert.Equal(t, []int{4, 5}, got)
	assert.Equal(t, 1, n, "only the nodes with allowed CPUs count")
}

// TestPinTargets reads this machine: every CPU of the process's mask,
// once, spread over at least one node.
func TestPinTargets(t *testing.T) {
	cpus, nodes, err := pinTargets()
	require.NoError(t, err)
	allowed, err := processCPUs()
	require.NoError(t, err)
	assert.ElementsMatch(t, allowed, cpus)
	assert.GreaterOrEqual(t, nodes, 1)
	assert.GreaterOrEqual(t, len(cpus), 1)

	saved := nodeRoot
	defer func() { nodeRoot = saved }()
	nodeRoot = t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(nodeRoot, "node0"), 0o755))
	_, _, err = pinTargets()
	assert.ErrorContains(t, err, "NUMA", "an unreadable node")
}

// TestSetAffinity binds a locked thread to one CPU and reads its CPU
// clock; the thread ends with the test's goroutine.
func TestSetAffinity(t *testing.T) {
	cpus, err := processCPUs()
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		require.NoError(t, setAffinity(cpus[len(cpus)-1]))
		mine, err := processCPUs() // the calling thread's mask
		require.NoError(t, err)
		assert.Equal(t, []int{cpus[len(cpus)-1]}, mine)
		c0, ok := threadCPU(gettid())
		assert.True(t, ok)
		x := 0
		for i := range 10_000_000 {
			x += i
		}
		_ = x
		c1, _ := threadCPU(gettid())
		assert.Greater(t, c1, c0, "the thread's CPU clock advances")
	}()
	<-done
	assert.Error(t, setAffinity(1<<20), "a CPU that does not exist")
	_, ok := threadCPU(1 << 22) // above the largest pid_max
	assert.False(t, ok, "no such thread")
}

// BenchmarkThreadCPU: one read of a thread's CPU clock, what Stats pays
// per pinned worker (a system call; it is why the workers never read it
// themselves per task).
func BenchmarkThreadCPU(b *testing.B) {
	tid := gettid()
	for b.Loop() {
		if _, ok := threadCPU(tid); !ok {
			b.Fatal("no clock")
		}
	}
}
