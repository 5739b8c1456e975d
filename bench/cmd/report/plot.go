package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The scaling plots: with several GOMAXPROCS values every table of the
// report is a set of curves (a row per contestant, a column per
// GOMAXPROCS), which are easier to read drawn. Each table with more than
// one GOMAXPROCS column gets an SVG file next to the report, linked just
// under the table. The SVG is written by hand so that the report needs
// nothing beyond the standard library, and with fixed-precision numbers
// and no map iteration so that the same input gives the same bytes.

// plotFile is one SVG file to write next to the report.
type plotFile struct {
	name string // file name, relative to the report's directory
	data []byte
}

// plotSet collects the plots of one report.
type plotSet struct {
	prefix string // start of every file name, from the report's name
	files  []plotFile
}

// newPlotSet returns the plot set of the report written to out: the
// files are named after it (SCALING.md: scaling-*.svg), so that two
// reports in one directory do not overwrite each other's plots.
func newPlotSet(out string) *plotSet {
	base := filepath.Base(out)
	p := slug(strings.TrimSuffix(base, filepath.Ext(base)))
	if p == "" {
		p = "plot"
	}
	return &plotSet{prefix: p}
}

// series is one contestant's curve.
type series struct {
	name string
	// style is the row's place in the workload's row order, so that a
	// contestant has the same color and marker in every table of a
	// workload.
	style int
	// y holds the median at each GOMAXPROCS of the plot, NaN where the
	// contestant has no result.
	y []float64
}

// scalingPlot is one scaling table to draw.
type scalingPlot struct {
	title  string // the workload, e.g. "Pure overhead: tiny task (BenchmarkTiny)"
	group  string // the table's fixed configuration, e.g. "submitters=1"; may be empty
	metric string // the column's label, e.g. "ns/task"
	unit   string // the measured unit, for the tick labels
	better string // "lower is better", "higher is better" or ""
	procs  []int  // the GOMAXPROCS of the columns
	series []series
}

// add draws the table of spec s in configuration fixed, with a column per
// GOMAXPROCS in procs and the rows in curves, and returns the markdown
// that links the plot, or "" when there is nothing to draw (fewer than
// two GOMAXPROCS columns, or no value a log scale can show).
func (ps *plotSet) add(s spec, fixed []kv, u unitCol, procs []string, curves []series) string {
	if ps == nil || len(procs) < 2 {
		return ""
	}
	p := &scalingPlot{
		title:  sectionNumber.ReplaceAllString(s.title, ""),
		metric: u.label,
		unit:   u.unit,
		better: betterDirection(u),
		series: curves,
	}
	for _, v := range procs {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return "" // not go test's -N suffix: no GOMAXPROCS axis
		}
		p.procs = append(p.procs, n)
	}
	var group []string
	for _, f := range fixed {
		group = append(group, f.key+"="+f.value)
	}
	p.group = strings.Join(group, " ")
	data := p.svg()
	if data == nil {
		return ""
	}
	name := ps.name(s.bench, u.unit, p.group)
	ps.files = append(ps.files, plotFile{name, data})
	alt := "GOMAXPROCS scaling of Benchmark" + s.bench
	if p.group != "" {
		alt += ", " + p.group
	}
	alt += ": median " + p.metric
	// Brackets and backticks would end or restyle the alt text.
	alt = strings.NewReplacer("[", "(", "]", ")", "`", "").Replace(alt)
	return fmt.Sprintf("\n![%s](%s)\n", alt, name)
}

// name returns a file name for a plot that no other plot of the set has:
// the report's prefix, the benchmark and the group, then the unit where
// two sections draw the same benchmark (Batch's ns/op and items/call),
// then a counter.
func (ps *plotSet) name(bench, unit, group string) string {
	parts := []string{ps.prefix, slug(bench), slug(group)}
	taken := func(n string) bool {
		return slices.ContainsFunc(ps.files, func(f plotFile) bool { return f.name == n })
	}
	name := joinSlugs(parts...) + ".svg"
	if taken(name) {
		name = joinSlugs(ps.prefix, slug(bench), slug(unit), slug(group)) + ".svg"
	}
	for i, base := 2, strings.TrimSuffix(name, ".svg"); taken(name); i++ {
		name = fmt.Sprintf("%s-%d.svg", base, i)
	}
	return name
}

// sectionNumber is the "4. " or "6b. " that starts a section title: the
// plot stands alone, where the number means nothing.
var sectionNumber = regexp.MustCompile(`^[0-9]+[a-z]?\.\s+`)

// slug lower-cases s and turns every run of characters other than a-z and
// 0-9 into one hyphen, so that file names need no escaping in a markdown
// link or a URL ("submitters=1" is "submitters-1", "load=90%" "load-90").
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	return b.String()
}

// joinSlugs joins the non-empty parts with hyphens.
func joinSlugs(parts ...string) string {
	return strings.Join(slices.DeleteFunc(slices.Clone(parts), func(s string) bool { return s == "" }), "-")
}

// betterDirection says which way the metric improves, as the report's
// text does: lower everywhere except rates (capacity), and no verdict for
// items/call and task counts, which describe a run rather than rank it.
func betterDirection(u unitCol) string {
	switch {
	case strings.HasSuffix(u.unit, "/s") || strings.Contains(u.label, "capacity"):
		return "higher is better"
	case u.unit == "items/call" || u.unit == "tasks":
		return ""
	}
	return "lower is better"
}

// Plot geometry, in SVG user units (pixels).
const (
	svgWidth     = 840
	svgMinHeight = 440
	marginLeft   = 84  // room for the value labels and the axis title
	marginRight  = 250 // room for the legend: "poolgen-stealing-generated" in bold
	marginTop    = 64  // title and subtitle
	marginBottom = 64  // GOMAXPROCS labels, axis title, footnote
	legendRow    = 20
	// innerPad keeps the outermost points off the frame.
	innerPad = 20
)

// palette is the Okabe–Ito color-blind-safe palette without its yellow,
// which is too light on white. Markers and dashes tell apart the
// contestants that share a color.
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"}

var dashes = []string{"", "6 3", "2 3"}

// marker shapes, cycled independently of the colors
const (
	markCircle = iota
	markSquare
	markTriangle
	markDiamond
	numMarks
)

// style is how one series is drawn.
type style struct {
	color, dash string
	mark        int
	width, size float64 // line width and marker radius
	bold        bool
}

// styleOf returns the style of series s: our own pools (poolgen-*) drawn
// thicker, with larger markers and a bold legend entry, since the plots
// exist to set them against the others.
func styleOf(s series) style {
	st := style{
		color: palette[s.style%len(palette)],
		dash:  dashes[(s.style/len(palette))%len(dashes)],
		mark:  s.style % numMarks,
		width: 1.5,
		size:  3.5,
	}
	if isOurs(s.name) {
		st.width, st.size, st.bold = 3.5, 5, true
	}
	return st
}

// isOurs reports whether the contestant is one of poolgen's pools.
func isOurs(name string) bool { return strings.HasPrefix(name, "poolgen-") }

// frame maps data to the plot area: GOMAXPROCS on a log2 axis, values on
// a log10 axis (higher values up).
type frame struct {
	left, top, right, bottom float64 // the plot area
	xlo, xhi                 float64 // log2 of the GOMAXPROCS range
	ylo, yhi                 float64 // log10 of the value range
}

// x returns the horizontal position of GOMAXPROCS procs.
func (f frame) x(procs float64) float64 {
	if f.xhi == f.xlo {
		return (f.left + f.right) / 2
	}
	return f.left + innerPad + (math.Log2(procs)-f.xlo)/(f.xhi-f.xlo)*(f.right-f.left-2*innerPad)
}

// y returns the vertical position of value v (> 0).
func (f frame) y(v float64) float64 {
	return f.bottom - innerPad - (math.Log10(v)-f.ylo)/(f.yhi-f.ylo)*(f.bottom-f.top-2*innerPad)
}

// valueAxis returns the range and the ticks of a log axis that shows
// [lo, hi] (both > 0). The ticks are the values 1, 2 and 5 times a power
// of ten, or the powers of ten alone where those would be more than ten.
// Where at least two ticks fall within [lo, hi] the axis spans just the
// data, so that close curves are not squeezed into a corner; otherwise it
// widens to the ticks on either side, so that every axis has two labels.
func valueAxis(lo, hi float64) (axLo, axHi float64, ticks []float64) {
	k0 := int(math.Floor(math.Log10(lo))) - 1
	k1 := int(math.Ceil(math.Log10(hi))) + 1
	var cands []float64
	for k := k0; k <= k1; k++ {
		for _, m := range []float64{1, 2, 5} {
			cands = append(cands, m*math.Pow10(k))
		}
	}
	if inside(cands, lo, hi) > 10 {
		cands = cands[:0]
		for k := k0; k <= k1; k++ {
			cands = append(cands, math.Pow10(k))
		}
		// More than ten decades: every n-th, so that the labels do
		// not collide.
		if n := (inside(cands, lo, hi) + 9) / 10; n > 1 {
			var thin []float64
			for i := 0; i < len(cands); i += n {
				thin = append(thin, cands[i])
			}
			cands = thin
		}
	}
	if inside(cands, lo, hi) >= 2 {
		for _, c := range cands {
			if c >= lo*(1-1e-9) && c <= hi*(1+1e-9) {
				ticks = append(ticks, c)
			}
		}
		return lo, hi, ticks
	}
	ticks = span(cands, lo, hi)
	return ticks[0], ticks[len(ticks)-1], ticks
}

// minorTicks returns the integer multiples of powers of ten within
// [lo, hi] that are not ticks, where the axis spans at most three
// decades (beyond that they would crowd the plot).
func minorTicks(lo, hi float64, ticks []float64) []float64 {
	if hi/lo > 1e3 {
		return nil
	}
	var out []float64
	for k := int(math.Floor(math.Log10(lo))); k <= int(math.Ceil(math.Log10(hi))); k++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * math.Pow10(k)
			if v >= lo*(1-1e-9) && v <= hi*(1+1e-9) && !slices.ContainsFunc(ticks, func(t float64) bool { return math.Abs(t-v) <= 1e-9*v }) {
				out = append(out, v)
			}
		}
	}
	return out
}

// inside counts the candidates within [lo, hi].
func inside(cands []float64, lo, hi float64) int {
	n := 0
	for _, c := range cands {
		if c >= lo*(1-1e-9) && c <= hi*(1+1e-9) {
			n++
		}
	}
	return n
}

// span returns the ascending candidates from the last one at or below lo
// to the first one at or above hi; at least two, so that a single value
// sits between two ticks instead of on a zero-height axis.
func span(cands []float64, lo, hi float64) []float64 {
	i := 0
	for j, c := range cands {
		if c <= lo*(1+1e-9) {
			i = j
		}
	}
	k := len(cands) - 1
	for j := len(cands) - 1; j >= 0; j-- {
		if cands[j] >= hi*(1-1e-9) {
			k = j
		}
	}
	if i == k {
		// lo == hi on a candidate: one step either side
		i, k = max(i-1, 0), min(k+1, len(cands)-1)
	}
	return slices.Clone(cands[i : k+1])
}

// tickLabel formats a tick value as the table formats its unit, without
// the trailing zeros of three significant digits: "1 µs", not "1.00 µs".
func tickLabel(v float64, unit string) string {
	s := format(v, unit)
	end := strings.IndexFunc(s, func(r rune) bool { return !strings.ContainsRune("0123456789.-+e", r) })
	if end < 0 {
		end = len(s)
	}
	num, rest := s[:end], s[end:]
	if strings.Contains(num, ".") && !strings.Contains(num, "e") {
		num = strings.TrimRight(strings.TrimRight(num, "0"), ".")
	}
	return num + rest
}

// plotValue reports whether v can be drawn on a log axis.
func plotValue(v float64) bool { return v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) }

// svg returns the plot as a standalone SVG document, or nil when no
// series has a value a log axis can show.
func (p *scalingPlot) svg() []byte {
	// the columns in ascending GOMAXPROCS, whatever order the raw files
	// had them in
	cols := make([]int, len(p.procs))
	for i := range cols {
		cols[i] = i
	}
	slices.SortStableFunc(cols, func(a, b int) int { return p.procs[a] - p.procs[b] })

	var visible []series
	lo, hi := math.Inf(1), math.Inf(-1)
	dropped, gaps := false, false
	for _, s := range p.series {
		n := 0
		for _, c := range cols {
			v := math.NaN()
			if c < len(s.y) {
				v = s.y[c]
			}
			switch {
			case plotValue(v):
				n++
				lo, hi = min(lo, v), max(hi, v)
			case math.IsNaN(v):
				gaps = true
			default:
				dropped = true
			}
		}
		if n > 0 {
			visible = append(visible, s)
		}
	}
	if len(visible) == 0 {
		return nil
	}
	axLo, axHi, ticks := valueAxis(lo, hi)
	height := max(svgMinHeight, marginTop+legendRow*len(visible)+marginBottom)
	f := frame{
		left: marginLeft, top: marginTop, right: svgWidth - marginRight, bottom: float64(height - marginBottom),
		xlo: math.Log2(float64(p.procs[cols[0]])), xhi: math.Log2(float64(p.procs[cols[len(cols)-1]])),
		ylo: math.Log10(axLo), yhi: math.Log10(axHi),
	}

	var b bytes.Buffer
	title := p.title
	if p.group != "" {
		title += ", " + p.group
	}
	sub := "Median " + p.metric + " by GOMAXPROCS (log scales)"
	if p.better != "" {
		sub += "; " + p.better
	}
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	fmt.Fprintf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n", svgWidth, height, svgWidth, height)
	fmt.Fprintf(&b, "<title>%s</title>\n<desc>%s. Written by go run ./cmd/report.</desc>\n", esc(title), esc(sub))
	// an opaque background, for viewers with a dark theme
	fmt.Fprintf(&b, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", svgWidth, height)
	fmt.Fprintf(&b, "<text x=\"%s\" y=\"24\" font-size=\"15\" font-weight=\"bold\">%s</text>\n", num(f.left), esc(title))
	fmt.Fprintf(&b, "<text x=\"%s\" y=\"44\" fill=\"#444444\">%s</text>\n", num(f.left), esc(sub))

	// grid, ticks and labels
	if minor := minorTicks(axLo, axHi, ticks); len(minor) > 0 {
		// unlabeled lines at 3, 4, 6, ... times a power of ten, which
		// make a log scale readable between its labels
		fmt.Fprintf(&b, "<g class=\"minor-grid\" stroke=\"#f0f0f0\" stroke-width=\"1\">\n")
		for _, t := range minor {
			y := f.y(t)
			fmt.Fprintf(&b, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", num(f.left), num(y), num(f.right), num(y))
		}
		fmt.Fprintf(&b, "</g>\n")
	}
	fmt.Fprintf(&b, "<g class=\"grid\" stroke=\"#dddddd\" stroke-width=\"1\">\n")
	for _, t := range ticks {
		y := f.y(t)
		fmt.Fprintf(&b, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", num(f.left), num(y), num(f.right), num(y))
	}
	for _, c := range cols {
		x := f.x(float64(p.procs[c]))
		fmt.Fprintf(&b, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", num(x), num(f.top), num(x), num(f.bottom))
	}
	fmt.Fprintf(&b, "</g>\n")
	fmt.Fprintf(&b, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"none\" stroke=\"#333333\"/>\n", num(f.left), num(f.top), num(f.right-f.left), num(f.bottom-f.top))
	fmt.Fprintf(&b, "<g class=\"y-ticks\" text-anchor=\"end\">\n")
	for _, t := range ticks {
		fmt.Fprintf(&b, "<text x=\"%s\" y=\"%s\">%s</text>\n", num(f.left-6), num(f.y(t)+4), esc(tickLabel(t, p.unit)))
	}
	fmt.Fprintf(&b, "</g>\n<g class=\"x-ticks\" text-anchor=\"middle\">\n")
	for _, c := range cols {
		fmt.Fprintf(&b, "<text x=\"%s\" y=\"%s\">%d</text>\n", num(f.x(float64(p.procs[c]))), num(f.bottom+18), p.procs[c])
	}
	fmt.Fprintf(&b, "</g>\n")
	fmt.Fprintf(&b, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\">GOMAXPROCS</text>\n", num((f.left+f.right)/2), num(f.bottom+38))
	ymid := (f.top + f.bottom) / 2
	fmt.Fprintf(&b, "<text x=\"18\" y=\"%s\" text-anchor=\"middle\" transform=\"rotate(-90 18 %s)\">%s</text>\n", num(ymid), num(ymid), esc(p.metric+" (median)"))
	var notes []string
	if gaps {
		notes = append(notes, "a gap: no result at that GOMAXPROCS")
	}
	if dropped {
		notes = append(notes, "values ≤ 0 are not drawn (log scale)")
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, "<text x=\"%s\" y=\"%s\" font-size=\"10\" fill=\"#666666\">%s</text>\n", num(f.left), num(f.bottom+56), esc(strings.Join(notes, "; ")))
	}

	// The curves: ours last, so that they lie on top.
	order := slices.Clone(visible)
	slices.SortStableFunc(order, func(a, b series) int {
		switch oa, ob := isOurs(a.name), isOurs(b.name); {
		case oa == ob:
			return 0
		case ob:
			return -1
		}
		return 1
	})
	for _, s := range order {
		st := styleOf(s)
		fmt.Fprintf(&b, "<g class=\"series\" stroke=\"%s\" stroke-width=\"%s\"", st.color, num(st.width))
		if st.dash != "" {
			fmt.Fprintf(&b, " stroke-dasharray=\"%s\"", st.dash)
		}
		fmt.Fprintf(&b, " stroke-linejoin=\"round\">\n<title>%s</title>\n", esc(s.name))
		// A polyline per run of consecutive values: a missing value
		// breaks the line instead of being drawn as zero or bridged.
		var run []string
		flush := func() {
			if len(run) > 1 {
				fmt.Fprintf(&b, "<polyline fill=\"none\" points=\"%s\"/>\n", strings.Join(run, " "))
			}
			run = run[:0]
		}
		type point struct{ x, y float64 }
		var points []point
		for _, c := range cols {
			if c >= len(s.y) || !plotValue(s.y[c]) {
				flush()
				continue
			}
			pt := point{f.x(float64(p.procs[c])), f.y(s.y[c])}
			points = append(points, pt)
			run = append(run, num(pt.x)+","+num(pt.y))
		}
		flush()
		for _, pt := range points {
			marker(&b, st, pt.x, pt.y)
		}
		fmt.Fprintf(&b, "</g>\n")
	}

	// the legend, in the table's row order
	fmt.Fprintf(&b, "<g class=\"legend\">\n")
	lx := f.right + 20
	for i, s := range visible {
		st := styleOf(s)
		y := f.top + 8 + float64(i*legendRow)
		fmt.Fprintf(&b, "<g stroke=\"%s\" stroke-width=\"%s\"", st.color, num(st.width))
		if st.dash != "" {
			fmt.Fprintf(&b, " stroke-dasharray=\"%s\"", st.dash)
		}
		fmt.Fprintf(&b, "><line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>", num(lx), num(y), num(lx+28), num(y))
		marker(&b, st, lx+14, y)
		fmt.Fprintf(&b, "</g>\n<text x=\"%s\" y=\"%s\"", num(lx+36), num(y+4))
		if st.bold {
			fmt.Fprintf(&b, " font-weight=\"bold\"")
		}
		fmt.Fprintf(&b, ">%s</text>\n", esc(s.name))
	}
	fmt.Fprintf(&b, "</g>\n</svg>\n")
	return b.Bytes()
}

// marker draws one point of style st at (x, y).
func marker(b *bytes.Buffer, st style, x, y float64) {
	r := st.size
	// a white outline keeps overlapping markers apart; no dashes on it
	attrs := fmt.Sprintf("fill=\"%s\" stroke=\"#ffffff\" stroke-width=\"1\" stroke-dasharray=\"none\"", st.color)
	switch st.mark {
	case markCircle:
		fmt.Fprintf(b, "<circle cx=\"%s\" cy=\"%s\" r=\"%s\" %s/>\n", num(x), num(y), num(r), attrs)
	case markSquare:
		r *= 0.9 // a square looks bigger than a circle of the same radius
		fmt.Fprintf(b, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" %s/>\n", num(x-r), num(y-r), num(2*r), num(2*r), attrs)
	case markTriangle:
		r *= 1.2
		fmt.Fprintf(b, "<path d=\"M%s,%sL%s,%sL%s,%sZ\" %s/>\n", num(x), num(y-r), num(x+r), num(y+0.8*r), num(x-r), num(y+0.8*r), attrs)
	default:
		r *= 1.2
		fmt.Fprintf(b, "<path d=\"M%s,%sL%s,%sL%s,%sL%s,%sZ\" %s/>\n", num(x), num(y-r), num(x+r), num(y), num(x), num(y+r), num(x-r), num(y), attrs)
	}
}

// num formats a coordinate with one decimal (a tenth of a pixel is below
// what a screen shows), so that the output does not depend on float
// noise in the last digits.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	if s == "-0" {
		s = "0"
	}
	return s
}

// esc escapes s for XML text and attribute values.
func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
