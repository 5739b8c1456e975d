// Command covpkg prints the statement coverage of each package in a
// coverage profile written by go test -coverpkg over several test
// binaries (a block counts as covered if any binary ran it), and exits 1
// if a package named in -min is below its bound.
//
//	go run ./.ci/covpkg -min 90 -pkgs runtime,templates cover.out
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

func main() {
	min := flag.Float64("min", 0, "lowest coverage, in percent, allowed for the packages in -pkgs")
	pkgs := flag.String("pkgs", "", "comma-separated package paths relative to the module to hold to -min")
	module := flag.String("module", "github.com/poolgen/poolgen/", "module path prefix to strip")
	flag.Parse()
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	type block struct{ stmts, count int }
	blocks := map[string]block{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "mode:") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		n, _ := strconv.Atoi(f[1])
		c, _ := strconv.Atoi(f[2])
		b := blocks[f[0]]
		blocks[f[0]] = block{n, max(b.count, c)}
	}
	total := map[string][2]int{}
	for loc, b := range blocks {
		file := loc[:strings.IndexByte(loc, ':')]
		pkg := strings.TrimPrefix(file[:strings.LastIndexByte(file, '/')], *module)
		t := total[pkg]
		t[0] += b.stmts
		if b.count > 0 {
			t[1] += b.stmts
		}
		total[pkg] = t
	}
	names := make([]string, 0, len(total))
	for p := range total {
		names = append(names, p)
	}
	sort.Strings(names)
	held := map[string]bool{}
	for _, p := range strings.Split(*pkgs, ",") {
		held[p] = p != ""
	}
	low := false
	for _, p := range names {
		t := total[p]
		pct := 100 * float64(t[1]) / float64(max(t[0], 1))
		mark := ""
		if held[p] && pct < *min {
			mark, low = fmt.Sprintf("  below %.0f%%", *min), true
		}
		fmt.Printf("%-20s %5.1f%% of %d statements%s\n", p, pct, t[0], mark)
	}
	if low {
		os.Exit(1)
	}
}
