package poolimpl

import (
	"math"
	"sync"
	"testing"
)

func TestRandNRange(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 7, 8, 64, 1000, 1 << 20, math.MaxInt32, int(min(math.MaxUint32, uint64(math.MaxInt)))} {
		for range 20000 {
			if v := RandN(n); v < 0 || v >= n {
				t.Fatalf("RandN(%d) = %d, out of [0, %d)", n, v, n)
			}
		}
	}
}

// TestRandNCovers: for small n every value comes up, roughly evenly. With
// 2000·n draws a value is missed with probability ~n·e^-2000 and a count
// below a quarter of the mean is as unlikely.
func TestRandNCovers(t *testing.T) {
	for n := 1; n <= 33; n++ {
		counts := make([]int, n)
		draws := 2000 * n
		for range draws {
			counts[RandN(n)]++
		}
		for v, c := range counts {
			if c < 2000/4 {
				t.Fatalf("RandN(%d): value %d came up %d times in %d draws (expected ~2000)", n, v, c, draws)
			}
		}
	}
	// Large n: the upper half of the range is reached too.
	high := false
	for range 1000 {
		if RandN(math.MaxInt32) > math.MaxInt32/2 {
			high = true
			break
		}
	}
	if !high {
		t.Fatal("RandN(MaxInt32) never returned a value in the upper half")
	}
}

func TestRandVaries(t *testing.T) {
	seen := map[uint32]bool{}
	for range 100 {
		seen[Rand()] = true
	}
	if len(seen) < 90 {
		t.Fatalf("Rand returned only %d distinct values in 100 calls", len(seen))
	}
}

func TestRandNConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10000 {
				if v := RandN(4); v < 0 || v >= 4 {
					t.Errorf("RandN(4) = %d", v)
					return
				}
			}
		})
	}
	wg.Wait()
}
