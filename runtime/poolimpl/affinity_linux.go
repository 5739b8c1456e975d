package poolimpl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// cpuMask is a CPU set as sched_getaffinity and sched_setaffinity take
// it: bit i of the words is CPU i.
type cpuMask []uint64

// processCPUs returns the CPUs of the process's affinity mask (its
// cgroup's cpuset and taskset included), in order.
func processCPUs() ([]int, error) {
	for words := 16; words <= 1<<14; words *= 2 { // 1024 CPUs, then more
		mask := make(cpuMask, words)
		_, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, uintptr(len(mask)*8), uintptr(unsafe.Pointer(&mask[0])))
		if errno == syscall.EINVAL {
			continue // the kernel's mask is larger
		}
		if errno != 0 {
			return nil, fmt.Errorf("sched_getaffinity: %w", errno)
		}
		var cpus []int
		for i, w := range mask {
			for b := range 64 {
				if w&(1<<b) != 0 {
					cpus = append(cpus, i*64+b)
				}
			}
		}
		return cpus, nil
	}
	return nil, errors.New("sched_getaffinity: the CPU mask is too large")
}

// nodeRoot is where Linux lists the NUMA nodes and their CPUs.
var nodeRoot = "/sys/devices/system/node"

// numaNodes returns the CPUs of each NUMA node under root, by node, in
// node order; none when the system lists no nodes (a kernel without
// NUMA support).
func numaNodes(root string) ([][]int, error) {
	dirs, err := filepath.Glob(filepath.Join(root, "node[0-9]*"))
	if err != nil {
		return nil, err
	}
	type node struct {
		id   int
		cpus []int
	}
	var nodes []node
	for _, d := range dirs {
		id, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "node"))
		if err != nil {
			continue // not a node
		}
		b, err := os.ReadFile(filepath.Join(d, "cpulist"))
		if err != nil {
			return nil, err
		}
		cpus, err := parseCPUList(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(d, "cpulist"), err)
		}
		nodes = append(nodes, node{id, cpus})
	}
	slices.SortFunc(nodes, func(a, b node) int { return a.id - b.id })
	out := make([][]int, len(nodes))
	for i, n := range nodes {
		out[i] = n.cpus
	}
	return out, nil
}

// parseCPUList parses a kernel CPU list, such as "0-3,8,10-11".
func parseCPUList(s string) ([]int, error) {
	var cpus []int
	if s == "" {
		return nil, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, ranged := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("bad CPU list %q", s)
		}
		b := a
		if ranged {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("bad CPU list %q", s)
			}
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// spread orders the CPUs allowed so that consecutive positions alternate
// between NUMA nodes: the first CPU of each node, then the second of
// each, and so on. CPUs that no node lists go last, in order. It returns
// the order and the number of nodes it spans.
func spread(allowed []int, nodes [][]int) ([]int, int) {
	ok := make(map[int]bool, len(allowed))
	for _, c := range allowed {
		ok[c] = true
	}
	var byNode [][]int
	seen := make(map[int]bool, len(allowed))
	for _, n := range nodes {
		var mine []int
		for _, c := range n {
			if ok[c] && !seen[c] {
				mine, seen[c] = append(mine, c), true
			}
		}
		if len(mine) > 0 {
			byNode = append(byNode, mine)
		}
	}
	var out []int
	for i := 0; ; i++ {
		added := false
		for _, n := range byNode {
			if i < len(n) {
				out, added = append(out, n[i]), true
			}
		}
		if !added {
			break
		}
	}
	for _, c := range allowed {
		if !seen[c] {
			out = append(out, c)
		}
	}
	return out, max(len(byNode), 1)
}

// pinTargets returns the CPUs to pin worker slots to, slot i to
// cpus[i%len(cpus)], spread across NUMA nodes, and the number of nodes.
func pinTargets() (cpus []int, nodes int, err error) {
	allowed, err := processCPUs()
	if err != nil {
		return nil, 0, err
	}
	if len(allowed) == 0 {
		return nil, 0, errors.New("the process's CPU affinity mask is empty")
	}
	byNode, err := numaNodes(nodeRoot)
	if err != nil {
		return nil, 0, fmt.Errorf("reading the NUMA nodes: %w", err)
	}
	cpus, nodes = spread(allowed, byNode)
	return cpus, nodes, nil
}

// setAffinity binds the calling thread to CPU cpu.
func setAffinity(cpu int) error {
	mask := make(cpuMask, cpu/64+1)
	mask[cpu/64] = 1 << (cpu % 64)
	_, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, 0, uintptr(len(mask)*8), uintptr(unsafe.Pointer(&mask[0])))
	if errno != 0 {
		return fmt.Errorf("sched_setaffinity: %w", errno)
	}
	return nil
}

// gettid returns the calling thread's id.
func gettid() int { return syscall.Gettid() }

// threadCPU returns the CPU time thread tid of this process has used, in
// nanoseconds, from its per-thread CPU clock: the clock id of thread tid
// is ^tid<<3 | 6 (CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED), as glibc's
// pthread_getcpuclockid makes it. It reports false when the thread has
// ended.
func threadCPU(tid int) (int64, bool) {
	var ts syscall.Timespec
	clock := int32(^tid<<3 | 6)
	_, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, uintptr(clock), uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return 0, false
	}
	return ts.Nano(), true
}
