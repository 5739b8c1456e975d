package main

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden reports in testdata")

// node is any XML element, for walking a parsed SVG.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []node     `xml:",any"`
}

func (n *node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// walk calls fn on n and every element below it, depth first.
func (n *node) walk(fn func(*node)) {
	fn(n)
	for i := range n.Nodes {
		n.Nodes[i].walk(fn)
	}
}

// parseSVG parses data strictly, token by token (so that any
// well-formedness error fails), then into a tree.
func parseSVG(t *testing.T, data []byte) *node {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	for {
		_, err := dec.Token()
		if err != nil {
			if err == io.EOF {
				break
			}
			t.Fatalf("not well-formed XML: %v\n%s", err, data)
		}
	}
	var root node
	if err := xml.Unmarshal(data, &root); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return &root
}

// seriesGroup returns the <g class="series"> whose title is name.
func seriesGroup(t *testing.T, root *node, name string) *node {
	t.Helper()
	var found *node
	root.walk(func(n *node) {
		if n.XMLName.Local == "g" && n.attr("class") == "series" {
			for _, c := range n.Nodes {
				if c.XMLName.Local == "title" && c.Text == name {
					found = n
				}
			}
		}
	})
	if found == nil {
		t.Fatalf("no series %q in the SVG", name)
	}
	return found
}

type pt struct{ x, y float64 }

// polylines returns the points of each polyline of g.
func polylines(t *testing.T, g *node) [][]pt {
	t.Helper()
	var out [][]pt
	for _, c := range g.Nodes {
		if c.XMLName.Local != "polyline" {
			continue
		}
		var line []pt
		for _, p := range strings.Fields(c.attr("points")) {
			xs, ys, ok := strings.Cut(p, ",")
			x, err1 := strconv.ParseFloat(xs, 64)
			y, err2 := strconv.ParseFloat(ys, 64)
			if !ok || err1 != nil || err2 != nil {
				t.Fatalf("bad point %q", p)
			}
			line = append(line, pt{x, y})
		}
		out = append(out, line)
	}
	return out
}

// markers counts the point markers of g.
func markers(g *node) int {
	n := 0
	for _, c := range g.Nodes {
		switch c.XMLName.Local {
		case "circle", "rect", "path":
			n++
		}
	}
	return n
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestFrameIsLogLog(t *testing.T) {
	f := frame{left: 100, top: 50, right: 500, bottom: 350, xlo: 0, xhi: 4, ylo: 1, yhi: 4}
	// log2 on x: every doubling of GOMAXPROCS is the same step
	step := f.x(2) - f.x(1)
	if step <= 0 {
		t.Fatalf("x(2) - x(1) = %v, want > 0", step)
	}
	for _, p := range []float64{2, 4, 8} {
		if d := f.x(2*p) - f.x(p); !near(d, step, 1e-9) {
			t.Errorf("x(%v) - x(%v) = %v, want %v", 2*p, p, d, step)
		}
	}
	if !near(f.x(1), f.left+innerPad, 1e-9) || !near(f.x(16), f.right-innerPad, 1e-9) {
		t.Errorf("x(1), x(16) = %v, %v; want the plot's edges less the padding", f.x(1), f.x(16))
	}
	// log10 on y, higher values up: every decade the same step
	dec := f.y(10) - f.y(100)
	if dec <= 0 {
		t.Fatalf("y(10) - y(100) = %v, want > 0 (higher values above)", dec)
	}
	if d := f.y(100) - f.y(1000); !near(d, dec, 1e-9) {
		t.Errorf("y(100) - y(1000) = %v, want %v", d, dec)
	}
	if d := f.y(20) - f.y(200); !near(d, dec, 1e-9) {
		t.Errorf("y(20) - y(200) = %v, want %v", d, dec)
	}
	if !near(f.y(10), f.bottom-innerPad, 1e-9) || !near(f.y(1e4), f.top+innerPad, 1e-9) {
		t.Errorf("y(10), y(1e4) = %v, %v; want the plot's edges less the padding", f.y(10), f.y(1e4))
	}
}

func TestValueAxis(t *testing.T) {
	for _, c := range []struct {
		lo, hi       float64
		axLo, axHi   float64
		ticks        []float64
		decadesOnly  bool
		maxTicks     int
		checkExactly bool
	}{
		// two 1-2-5 values inside: the axis spans the data
		{lo: 72, hi: 314, axLo: 72, axHi: 314, ticks: []float64{100, 200}, checkExactly: true},
		// one inside: widen to the 1-2-5 values either side
		{lo: 74.5, hi: 181, axLo: 50, axHi: 200, ticks: []float64{50, 100, 200}, checkExactly: true},
		// a single value on a tick: one step either side
		{lo: 100, hi: 100, axLo: 50, axHi: 200, ticks: []float64{50, 100, 200}, checkExactly: true},
		{lo: 1.7e7, hi: 6.8e7, axLo: 1.7e7, axHi: 6.8e7, ticks: []float64{2e7, 5e7}, checkExactly: true},
		// six decades: powers of ten only
		{lo: 1, hi: 1e6, axLo: 1, axHi: 1e6, ticks: []float64{1, 10, 100, 1e3, 1e4, 1e5, 1e6}, checkExactly: true},
		// twenty decades: thinned to at most ten
		{lo: 1e-3, hi: 1e17, axLo: 1e-3, axHi: 1e17, decadesOnly: true, maxTicks: 10},
	} {
		axLo, axHi, ticks := valueAxis(c.lo, c.hi)
		if !near(axLo, c.axLo, 1e-9*c.axLo) || !near(axHi, c.axHi, 1e-9*c.axHi) {
			t.Errorf("valueAxis(%v, %v) spans %v..%v, want %v..%v", c.lo, c.hi, axLo, axHi, c.axLo, c.axHi)
		}
		if axLo > c.lo || axHi < c.hi {
			t.Errorf("valueAxis(%v, %v) = %v..%v does not cover the data", c.lo, c.hi, axLo, axHi)
		}
		if c.checkExactly {
			ok := len(ticks) == len(c.ticks)
			for i := 0; ok && i < len(ticks); i++ {
				ok = near(ticks[i], c.ticks[i], 1e-9*c.ticks[i])
			}
			if !ok {
				t.Errorf("valueAxis(%v, %v) ticks = %v, want %v", c.lo, c.hi, ticks, c.ticks)
			}
		}
		if c.maxTicks > 0 && (len(ticks) > c.maxTicks || len(ticks) < 2) {
			t.Errorf("valueAxis(%v, %v): %d ticks, want 2 to %d", c.lo, c.hi, len(ticks), c.maxTicks)
		}
		for i, tk := range ticks {
			if i > 0 && tk <= ticks[i-1] {
				t.Errorf("valueAxis(%v, %v) ticks not ascending: %v", c.lo, c.hi, ticks)
			}
			if tk < axLo*(1-1e-9) || tk > axHi*(1+1e-9) {
				t.Errorf("valueAxis(%v, %v): tick %v outside the axis %v..%v", c.lo, c.hi, tk, axLo, axHi)
			}
			m := tk / math.Pow10(int(math.Floor(math.Log10(tk)+1e-9)))
			want := []float64{1, 2, 5}
			if c.decadesOnly {
				want = []float64{1}
			}
			if !slices.ContainsFunc(want, func(w float64) bool { return near(m, w, 1e-6) }) {
				t.Errorf("valueAxis(%v, %v): tick %v is not %v times a power of ten", c.lo, c.hi, tk, want)
			}
		}
	}
}

func TestTickLabel(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{
		{50, "ns/op", "50 ns"},
		{500, "ns/op", "500 ns"},
		{1000, "ns/op", "1 µs"},
		{2e4, "ns/op", "20 µs"},
		{5e6, "ns/op", "5 ms"},
		{2e9, "p99-ns", "2 s"},
		{0.5, "ns/op", "0.5 ns"},
		{1e4, "B/task", "10 kB"},
		{2e5, "cap-tasks/s", "200k/s"},
		{10, "items/call", "10"},
	} {
		if got := tickLabel(c.v, c.unit); got != c.want {
			t.Errorf("tickLabel(%v, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
}

func TestSlugAndNames(t *testing.T) {
	ps := newPlotSet("/some/dir/SCALING.md")
	if ps.prefix != "scaling" {
		t.Errorf("prefix = %q, want scaling", ps.prefix)
	}
	for in, want := range map[string]string{
		"submitters=1":         "submitters-1",
		"load=90%":             "load-90",
		"tree=skewed-tail":     "tree-skewed-tail",
		"ForkJoin":             "forkjoin",
		"a=1 b=x/y":            "a-1-b-x-y",
		"  Odd [name] (µs)!  ": "odd-name-s",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
	add := func(bench, unit, group string) string {
		n := ps.name(bench, unit, group)
		ps.files = append(ps.files, plotFile{name: n})
		return n
	}
	for _, c := range [][4]string{
		{"Tiny", "ns/op", "submitters=1", "scaling-tiny-submitters-1.svg"},
		{"Sleep1ms", "ns/op", "", "scaling-sleep1ms.svg"},
		// sections 6 and 6b draw the same benchmark
		{"Batch", "ns/op", "size=64", "scaling-batch-size-64.svg"},
		{"Batch", "items/call", "size=64", "scaling-batch-items-call-size-64.svg"},
		{"Batch", "items/call", "size=64", "scaling-batch-items-call-size-64-2.svg"},
	} {
		if got := add(c[0], c[1], c[2]); got != c[3] {
			t.Errorf("name(%q, %q, %q) = %q, want %q", c[0], c[1], c[2], got, c[3])
		}
	}
	for _, f := range ps.files {
		if !regexp.MustCompile(`^[a-z0-9-]+\.svg$`).MatchString(f.name) {
			t.Errorf("file name %q has characters other than a-z, 0-9 and -", f.name)
		}
	}
}

func TestBetterDirection(t *testing.T) {
	for _, c := range []struct {
		u    unitCol
		want string
	}{
		{unitCol{"ns/op", "ns/task", false}, "lower is better"},
		{unitCol{"p50-ns", "p50", false}, "lower is better"},
		{unitCol{"cap-tasks/s", "capacity", true}, "higher is better"},
		{unitCol{"items/call", "items/call", true}, ""},
	} {
		if got := betterDirection(c.u); got != c.want {
			t.Errorf("betterDirection(%v) = %q, want %q", c.u, got, c.want)
		}
	}
}

// testPlot has known values: "ours" doubles with every doubling of
// GOMAXPROCS (a straight line on log-log axes), "gappy" misses
// GOMAXPROCS 2, "tail" has one point after a gap, "none" never ran. The
// columns are out of order, as raw files can have them.
func testPlot() *scalingPlot {
	nan := math.NaN()
	return &scalingPlot{
		title:  `Odd <title> & "quotes"`,
		group:  "submitters=1",
		metric: "ns/task",
		unit:   "ns/op",
		better: "lower is better",
		procs:  []int{4, 1, 2, 8},
		series: []series{
			{name: "poolgen-generated", style: 0, y: []float64{400, 100, 200, 800}},
			{name: "gappy", style: 1, y: []float64{300, 150, nan, 600}},
			{name: "tail", style: 2, y: []float64{nan, 120, nan, nan}},
			{name: "none", style: 3, y: []float64{nan, nan, nan, nan}},
			{name: "a<b>&c", style: 4, y: []float64{250, 250, 250, 250}},
		},
	}
}

func TestSVGCurves(t *testing.T) {
	data := testPlot().svg()
	root := parseSVG(t, data)

	ours := polylines(t, seriesGroup(t, root, "poolgen-generated"))
	if len(ours) != 1 || len(ours[0]) != 4 {
		t.Fatalf("poolgen-generated: polylines %v, want one of 4 points", ours)
	}
	l := ours[0]
	for i := 1; i < len(l); i++ {
		// GOMAXPROCS ascending left to right, and the value doubling
		// with it: equal steps right and up
		if l[i].x <= l[i-1].x || l[i].y >= l[i-1].y {
			t.Errorf("poolgen-generated: point %d %v does not lie right of and above %v", i, l[i], l[i-1])
		}
		if i > 1 {
			if !near(l[i].x-l[i-1].x, l[1].x-l[0].x, 0.15) || !near(l[i].y-l[i-1].y, l[1].y-l[0].y, 0.15) {
				t.Errorf("poolgen-generated: steps %v→%v and %v→%v differ: not log-log", l[i-1], l[i], l[0], l[1])
			}
		}
	}

	// A missing value breaks the line: gappy's points at 1 and 4 are
	// not joined (2 lies between them), only 4 and 8 are.
	gappy := seriesGroup(t, root, "gappy")
	lines := polylines(t, gappy)
	if len(lines) != 1 || len(lines[0]) != 2 {
		t.Fatalf("gappy: polylines %v, want one of 2 points (4 and 8)", lines)
	}
	if !near(lines[0][0].x, l[2].x, 0.15) || !near(lines[0][1].x, l[3].x, 0.15) {
		t.Errorf("gappy's line runs %v, want from x=%v to x=%v (GOMAXPROCS 4 to 8)", lines[0], l[2].x, l[3].x)
	}
	if n := markers(gappy); n != 3 {
		t.Errorf("gappy: %d markers, want 3 (no point drawn for the missing value)", n)
	}
	// same value, same height: gappy's 600 lies between ours' 400 and 800
	if y := lines[0][1].y; !(y < l[2].y && y > l[3].y) {
		t.Errorf("gappy's 600 at y=%v, want between ours' 400 (y=%v) and 800 (y=%v)", y, l[2].y, l[3].y)
	}
	tail := seriesGroup(t, root, "tail")
	if lines := polylines(t, tail); len(lines) != 0 || markers(tail) != 1 {
		t.Errorf("tail: polylines %v and %d markers, want none and 1", lines, markers(tail))
	}

	// the series that never ran is not drawn nor in the legend
	if bytes.Contains(data, []byte(">none<")) {
		t.Errorf("the series with no values appears in the SVG")
	}
	// ours drawn thicker, and last (on top)
	var widths = map[string]float64{}
	var order []string
	root.walk(func(n *node) {
		if n.XMLName.Local == "g" && n.attr("class") == "series" {
			w, _ := strconv.ParseFloat(n.attr("stroke-width"), 64)
			widths[n.Nodes[0].Text] = w
			order = append(order, n.Nodes[0].Text)
		}
	})
	if widths["poolgen-generated"] <= widths["gappy"] {
		t.Errorf("stroke widths %v: poolgen-generated not thicker", widths)
	}
	if order[len(order)-1] != "poolgen-generated" {
		t.Errorf("series drawn in the order %v, want poolgen-generated last", order)
	}
	if !bytes.Contains(data, []byte("lower is better")) || !bytes.Contains(data, []byte(">GOMAXPROCS<")) || !bytes.Contains(data, []byte("ns/task (median)")) {
		t.Errorf("the SVG lacks the direction or an axis title")
	}
}

func TestSVGStandaloneAndEscaped(t *testing.T) {
	p := testPlot()
	data := p.svg()
	root := parseSVG(t, data)
	if root.XMLName.Local != "svg" || root.XMLName.Space != "http://www.w3.org/2000/svg" {
		t.Fatalf("root element %v, want svg in the SVG namespace", root.XMLName)
	}
	for _, a := range []string{"width", "height", "viewBox"} {
		if root.attr(a) == "" {
			t.Errorf("the svg element has no %s", a)
		}
	}
	if vb := strings.Fields(root.attr("viewBox")); len(vb) != 4 || vb[2] != root.attr("width") || vb[3] != root.attr("height") {
		t.Errorf("viewBox %q does not match width %q and height %q", root.attr("viewBox"), root.attr("width"), root.attr("height"))
	}
	// the text comes back as written
	var texts []string
	root.walk(func(n *node) {
		if n.XMLName.Local == "text" || n.XMLName.Local == "title" {
			texts = append(texts, n.Text)
		}
	})
	for _, want := range []string{p.title + ", submitters=1", "a<b>&c"} {
		if !slices.Contains(texts, want) {
			t.Errorf("no text %q in the SVG; texts: %q", want, texts)
		}
	}
	if !bytes.HasPrefix(data, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		t.Errorf("no XML declaration")
	}
}

func TestSVGDeterministic(t *testing.T) {
	a, b := testPlot().svg(), testPlot().svg()
	if !bytes.Equal(a, b) {
		t.Errorf("two renderings of the same plot differ")
	}
	if (&scalingPlot{procs: []int{1, 2}, series: []series{{name: "x", y: []float64{math.NaN(), 0}}}}).svg() != nil {
		t.Errorf("a plot with no drawable value gave an SVG")
	}
}

// runReport runs the report on the raw file in into a fresh directory,
// and returns the markdown and the files written beside it.
func runReport(t *testing.T, in string) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "SCALING.md")
	if err := run(&options{in: in, out: out, title: "Results"}); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if e.Name() != "SCALING.md" {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files[e.Name()] = b
		}
	}
	return string(md), files
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("the report differs from %s:\n%s", path, got)
	}
}

// With one GOMAXPROCS (the normal run) the report is as it was before the
// plots: testdata/single.md was written by the report before plot.go
// existed.
func TestSingleProcsNoPlots(t *testing.T) {
	md, files := runReport(t, "testdata/single.txt")
	if len(files) != 0 {
		t.Errorf("files written beside the report: %v", slices.Sorted(maps.Keys(files)))
	}
	if strings.Contains(md, "![") || strings.Contains(md, ".svg") {
		t.Errorf("the report links an image")
	}
	golden(t, "single.md", md)
}

var imageLink = regexp.MustCompile(`\n!\[[^\]\n]*\]\(([^)\n]*)\)\n`)

// With several GOMAXPROCS every table with more than one GOMAXPROCS
// column gets a plot, linked under it; the rest of the report is as it
// was before the plots (testdata/scaling-tables.md).
func TestScalingPlots(t *testing.T) {
	md, files := runReport(t, "testdata/scaling.txt")
	want := []string{"scaling-forkjoin-tree-balanced.svg", "scaling-tiny-submitters-1.svg", "scaling-tiny-submitters-gomaxprocs.svg"}
	if got := slices.Sorted(maps.Keys(files)); !slices.Equal(got, want) {
		t.Fatalf("files beside the report: %v, want %v", got, want)
	}
	var linked []string
	for _, m := range imageLink.FindAllStringSubmatchIndex(md, -1) {
		linked = append(linked, md[m[2]:m[3]])
		// just under a table: the line before the link's blank line is
		// a table row
		before := strings.TrimSuffix(md[:m[0]], "\n")
		if last := before[strings.LastIndex(before, "\n")+1:]; !strings.HasPrefix(last, "| ") {
			t.Errorf("image %s follows %q, not a table", md[m[2]:m[3]], last)
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(linked)), want) {
		t.Errorf("linked images %v, want %v", linked, want)
	}
	golden(t, "scaling-tables.md", imageLink.ReplaceAllString(md, ""))

	for _, data := range files {
		parseSVG(t, data)
	}
	// chan did not run at GOMAXPROCS 2 with one submitter: its points
	// at 1 and 4 stay apart
	root := parseSVG(t, files["scaling-tiny-submitters-1.svg"])
	ch := seriesGroup(t, root, "chan")
	if lines := polylines(t, ch); len(lines) != 0 || markers(ch) != 2 {
		t.Errorf("chan: polylines %v and %d markers, want none and 2", lines, markers(ch))
	}
	// inline did not run with GOMAXPROCS submitters: not drawn
	if bytes.Contains(files["scaling-tiny-submitters-gomaxprocs.svg"], []byte(">inline<")) {
		t.Errorf("inline is drawn in a table it has no row in")
	}

	// the same input gives the same bytes, whatever the order of Go's
	// maps in the dataset
	for range 3 {
		md2, files2 := runReport(t, "testdata/scaling.txt")
		if md2 != md {
			t.Errorf("a second run wrote another report")
		}
		for name, data := range files {
			if !bytes.Equal(files2[name], data) {
				t.Errorf("a second run wrote another %s", name)
			}
		}
	}
}
