package main

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// render writes the report and the headline table. With several
// GOMAXPROCS values it also draws each scaling table into plots (when not
// nil) and links the plot under the table.
func render(d *dataset, files []string, notes []byte, title string, plots *plotSet) (report, headline []byte) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", title)
	fmt.Fprintf(&b, "<!-- Written by `go run ./cmd/report`; edit the code or the notes file, not this file. -->\n\n")
	writeSetting(&b, d, files)
	fmt.Fprintf(&b, "\n## Headline\n\n")
	headline = headlineTable(d)
	b.Write(headline)
	for _, s := range specs {
		if d.values[s.bench] == nil {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n%s\n", s.title, strings.TrimSpace(s.about))
		writeSpec(&b, d, s, plots)
	}
	if len(d.warnings) > 0 {
		fmt.Fprintf(&b, "\n## Lines the parser skipped\n\n")
		for _, w := range d.warnings {
			fmt.Fprintf(&b, "- %s\n", w)
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, "\n## Observations\n\n")
		b.Write(bytes.TrimSpace(notes))
		b.WriteString("\n")
	}
	return b.Bytes(), headline
}

func writeSetting(b *bytes.Buffer, d *dataset, files []string) {
	procs := strings.Join(d.procs, ", ")
	if procs == "" {
		procs = "–"
	}
	for i, config := range d.configs {
		c := func(k string) string {
			if v, ok := config[k]; ok && v != "" {
				return v
			}
			return "–"
		}
		if len(d.configs) > 1 {
			fmt.Fprintf(b, "\n**Run %d of %d:** [%s](%s)\n\n", i+1, len(d.configs), files[i], files[i])
		}
		rows := [][2]string{
			{"date (UTC)", c("report-date")},
			{"machine", fmt.Sprintf("%s, %s CPUs (`cpu: %s` in the raw output)", c("report-cpu-model"), c("report-cpus"), c("cpu"))},
			{"GOMAXPROCS", procs},
			{"Go", c("report-go")},
			{"code", c("report-commit")},
			{"build tags", c("report-tags")},
			{"sub-benchmark filter", c("report-filter")},
			{"load average (1, 5, 15 min)", "at the start " + c("report-loadavg-start") + "; at the end " + c("report-loadavg-end")},
			{"run", fmt.Sprintf("%s rounds; throughput workloads -benchtime %s; scenario size %s; took %s", c("report-count"), c("report-benchtime"), c("size"), c("report-duration"))},
			{"calibration", fmt.Sprintf("spin1us-rounds %s; latency task %s; latency point %s; memory %s tasks (%s for pools that park goroutines)", c("spin1us-rounds"), c("lat-task"), c("lat-point"), c("mem-tasks"), c("mem-parked"))},
			{"command", "`" + c("report-command") + "`"},
			{"raw output", fmt.Sprintf("[%s](%s)", files[i], files[i])},
		}
		fmt.Fprintf(b, "| | |\n|---|---|\n")
		for _, r := range rows {
			fmt.Fprintf(b, "| %s | %s |\n", r[0], r[1])
		}
	}
	fmt.Fprintf(b, `
How to read the tables: each cell is the **median** of the rounds with its
95%% confidence interval (±, as benchstat prints it; ±∞ means too few
rounds for one), then the ratio of that median to the base row's in the
same column (the base is named above each table: poolgen's generated
pool unless said otherwise). A ratio marked **~** is not significantly
different from 1 (Mann-Whitney U test, α = 0.05, as benchstat's "~");
every unmarked ratio is. Lower is better everywhere except capacity. A
"–" is a contestant that did not run that configuration (see the
workload's text for why).
`)
}

// unitCol is one measured unit shown as a column. A plain column shows
// no ratio (counts such as allocations or goroutines, where a ratio says
// little or divides by zero).
type unitCol struct {
	unit, label string
	plain       bool
}

// spec describes one workload's section of the report.
type spec struct {
	title string
	bench string
	about string
	// split names the configuration key whose values get a table each.
	split string
	// rowKey is the key whose values are the rows (default impl).
	rowKey string
	units  []unitCol
	// base lists row values: the first one present is the base row.
	base []string
	// baseCol, if set, makes the ratios relative to the same row in the
	// configuration where this key has this value (metrics=on).
	baseCol *kv
	// derived adds a column per configuration after the measured ones.
	derived []derived
	// note adds a text column by row value.
	noteLabel string
	note      map[string]string
}

// derived is a computed column.
type derived struct {
	label string
	// cell computes the cell of row in configuration rest (which has the
	// split value too).
	cell func(d *dataset, bench, row string, rest []kv) string
}

func writeSpec(b *bytes.Buffer, d *dataset, s spec, plots *plotSet) {
	rowKey := s.rowKey
	if rowKey == "" {
		rowKey = "impl"
	}
	order := d.keyOrder[s.bench]
	// Normally one table per value of the split key, a column per
	// configuration of the other keys and unit. With several GOMAXPROCS
	// (go test -cpu), a table per configuration and a column per
	// GOMAXPROCS, for the first unit only: the scaling curves.
	var splitKeys, restKeys []string
	scaling := len(d.procs) > 1
	for k := range order {
		switch {
		case k == rowKey:
		case k == "procs":
			if scaling {
				restKeys = append(restKeys, k)
			}
		case scaling || k == s.split:
			splitKeys = append(splitKeys, k)
		default:
			restKeys = append(restKeys, k)
		}
	}
	slices.Sort(splitKeys)
	slices.Sort(restKeys)
	units, derivedCols := s.units, s.derived
	if scaling {
		units, derivedCols = units[:1], nil
	}
	for _, fixed := range combos(d, s.bench, splitKeys, nil) {
		if len(fixed) > 0 {
			var parts []string
			for _, p := range fixed {
				parts = append(parts, p.key+"="+p.value)
			}
			fmt.Fprintf(b, "\n**%s**\n", strings.Join(parts, " "))
		}
		rests := combos(d, s.bench, restKeys, fixed)
		rows := order[rowKey]
		// the base row: the first of s.base with data
		base := ""
		if s.baseCol == nil {
			for _, cand := range s.base {
				if slices.Contains(rows, cand) {
					base = cand
					break
				}
			}
			if base == "" && len(rows) > 0 {
				base = rows[0]
			}
			fmt.Fprintf(b, "\nBase row: `%s`.\n", base)
		} else {
			fmt.Fprintf(b, "\nRatios are to the same row with `%s=%s`.\n", s.baseCol.key, s.baseCol.value)
		}
		// header
		var head []string
		head = append(head, rowKey)
		for _, rest := range rests {
			for _, u := range units {
				head = append(head, colName(rest, u.label, len(rests) > 1))
			}
			for _, dc := range derivedCols {
				head = append(head, colName(rest, dc.label, len(rests) > 1))
			}
		}
		if s.noteLabel != "" {
			head = append(head, s.noteLabel)
		}
		fmt.Fprintf(b, "\n| %s |\n|---|", strings.Join(head, " | "))
		for range head[1:] {
			b.WriteString("---:|")
		}
		if s.noteLabel != "" {
			b.Truncate(b.Len() - len("---:|"))
			b.WriteString("---|")
		}
		b.WriteString("\n")
		var curves []series // scaling: the rows, to plot
		for i, row := range rows {
			cells := []string{"`" + row + "`"}
			any := false
			var ys []float64
			for _, rest := range rests {
				cfg := append(append(slices.Clone(fixed), rest...), kv{rowKey, row})
				for _, u := range units {
					st := summarize(d.get(s.bench, cfg, u.unit))
					if scaling {
						ys = append(ys, center(st))
					}
					var bst *stat
					isBase := false
					if s.baseCol == nil {
						bcfg := append(append(slices.Clone(fixed), rest...), kv{rowKey, base})
						bst = summarize(d.get(s.bench, bcfg, u.unit))
						isBase = row == base
					} else {
						bcfg := setKey(cfg, s.baseCol.key, s.baseCol.value)
						bst = summarize(d.get(s.bench, bcfg, u.unit))
						isBase = slices.Contains(rest, *s.baseCol)
					}
					if st != nil {
						any = true
					}
					if u.plain {
						bst, isBase = nil, false
					}
					cells = append(cells, cell(st, bst, isBase, u.unit))
				}
				for _, dc := range derivedCols {
					cells = append(cells, dc.cell(d, s.bench, row, append(slices.Clone(fixed), rest...)))
				}
			}
			if !any {
				continue
			}
			if s.noteLabel != "" {
				cells = append(cells, s.note[row])
			}
			fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
			if scaling {
				curves = append(curves, series{name: row, style: i, y: ys})
			}
		}
		if scaling {
			var procs []string
			for _, rest := range rests {
				v, _ := find(rest, "procs")
				procs = append(procs, v)
			}
			b.WriteString(plots.add(s, fixed, units[0], procs, curves))
		}
	}
}

// center returns the median of st, NaN for no measurement.
func center(st *stat) float64 {
	if st == nil {
		return math.NaN()
	}
	return st.center
}

// combos lists the configurations of bench's keys, in the order their
// values first appeared, that have data alongside fixed.
func combos(d *dataset, bench string, keys []string, fixed []kv) [][]kv {
	order := d.keyOrder[bench]
	var out [][]kv
	var rec func(i int, acc []kv)
	rec = func(i int, acc []kv) {
		if i == len(keys) {
			want := append(slices.Clone(fixed), acc...)
			for c := range d.values[bench] {
				if hasAll(parseCanon(c), want) {
					out = append(out, slices.Clone(acc))
					return
				}
			}
			return
		}
		for _, v := range order[keys[i]] {
			rec(i+1, append(acc, kv{keys[i], v}))
		}
	}
	rec(0, nil)
	return out
}

func hasAll(cfg, want []kv) bool {
	for _, w := range want {
		if !slices.Contains(cfg, w) {
			return false
		}
	}
	return true
}

func setKey(cfg []kv, key, value string) []kv {
	out := slices.Clone(cfg)
	for i := range out {
		if out[i].key == key {
			out[i].value = value
		}
	}
	return out
}

func colName(rest []kv, label string, withRest bool) string {
	if !withRest || len(rest) == 0 {
		return label
	}
	var parts []string
	for _, p := range rest {
		parts = append(parts, p.key+"="+p.value)
	}
	return strings.Join(parts, " ") + ": " + label
}

// cell formats a measurement and its ratio to the base.
func cell(st, base *stat, isBase bool, unit string) string {
	if st == nil {
		return "–"
	}
	s := format(st.center, unit) + " " + st.ci()
	switch {
	case isBase:
		s += " (1.00×)"
	case base == nil || base.center == 0:
	default:
		sig, _ := compare(base, st)
		r := ratio(st.center / base.center)
		if !sig {
			r += " ~"
		}
		s += " (" + r + ")"
	}
	return s
}

func ratio(r float64) string {
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f×", r)
	case r >= 10:
		return fmt.Sprintf("%.1f×", r)
	}
	return fmt.Sprintf("%.2f×", r)
}

// format formats v measured in unit.
func format(v float64, unit string) string {
	switch {
	case unit == "ns/op" || strings.HasSuffix(unit, "-ns") || unit == "ns/node" || unit == "ns/task":
		return duration(v)
	case unit == "B/op" || strings.HasSuffix(unit, "B/task") || strings.HasSuffix(unit, "-B"):
		return bytesize(v)
	case unit == "peak-MB":
		return bytesize(v * 1e6)
	case strings.HasSuffix(unit, "tasks/s"):
		return sig3(v/1e3) + "k/s"
	}
	return sig3(v)
}

func duration(ns float64) string {
	switch a := math.Abs(ns); {
	case a >= 1e9:
		return sig3(ns/1e9) + " s"
	case a >= 1e6:
		return sig3(ns/1e6) + " ms"
	case a >= 1e3:
		return sig3(ns/1e3) + " µs"
	}
	return sig3(ns) + " ns"
}

func bytesize(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e9:
		return sig3(v/1e9) + " GB"
	case a >= 1e6:
		return sig3(v/1e6) + " MB"
	case a >= 1e4:
		return sig3(v/1e3) + " kB"
	}
	return sig3(v) + " B"
}

// sig3 formats v with three significant digits (more for large integers).
func sig3(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// median returns the median of bench at cfg in unit, or NaN.
func median(d *dataset, bench string, cfg []kv, unit string) float64 {
	st := summarize(d.get(bench, cfg, unit))
	if st == nil {
		return math.NaN()
	}
	return st.center
}

// headlineCol is one column of the headline table.
type headlineCol struct {
	label string
	bench string
	cfg   []kv
	unit  string
	base  []string
}

// headlineTable summarizes the main workloads: every contestant's median
// and its ratio to the base in each.
func headlineTable(d *dataset) []byte {
	var cols []headlineCol
	for _, c := range headline {
		if d.values[c.bench] != nil {
			if len(d.procs) > 1 { // scaling data: the largest GOMAXPROCS
				c.cfg = append(slices.Clone(c.cfg), kv{"procs", d.procs[len(d.procs)-1]})
				c.label += " (GOMAXPROCS " + d.procs[len(d.procs)-1] + ")"
			}
			cols = append(cols, c)
		}
	}
	var rows []string
	for _, c := range cols {
		for _, r := range d.keyOrder[c.bench]["impl"] {
			if !slices.Contains(rows, r) {
				rows = append(rows, r)
			}
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Medians, and in brackets the ratio to `poolgen-generated` (the work-stealing or priority pool where it ran; ~: not significant). Lower is better.\n\n")
	fmt.Fprintf(&b, "| contestant |")
	for _, c := range cols {
		fmt.Fprintf(&b, " %s |", c.label)
	}
	fmt.Fprintf(&b, "\n|---|")
	for range cols {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` |", r)
		for _, c := range cols {
			base := ""
			impls := d.keyOrder[c.bench]["impl"]
			for _, cand := range c.base {
				if slices.Contains(impls, cand) && d.get(c.bench, append(slices.Clone(c.cfg), kv{"impl", cand}), c.unit) != nil {
					base = cand
					break
				}
			}
			st := summarize(d.get(c.bench, append(slices.Clone(c.cfg), kv{"impl", r}), c.unit))
			if st == nil {
				b.WriteString(" – |")
				continue
			}
			s := format(st.center, c.unit)
			if base != "" {
				bst := summarize(d.get(c.bench, append(slices.Clone(c.cfg), kv{"impl", base}), c.unit))
				if r == base {
					s += " (1.00×)"
				} else if bst != nil && bst.center != 0 {
					sig, _ := compare(bst, st)
					rs := ratio(st.center / bst.center)
					if !sig {
						rs += " ~"
					}
					s += " (" + rs + ")"
				}
			}
			fmt.Fprintf(&b, " %s |", s)
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}
