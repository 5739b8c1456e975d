// Benchratio turns benchstat's CSV comparison into a Markdown table of
// medians and ratios to the base column (the first one benchstat shows).
//
// Usage:
//
//	benchstat -filter '.unit:sec/op' -col /impl -format csv results.txt | go run ./cmd/benchratio
//
// Each row of the output is one column of benchstat's comparison (one
// contestant), each column one of its rows (one workload); a cell is the
// median and its ratio to the base median, with benchstat's verdict: "~"
// when benchstat finds no significant difference.
package main

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
}

type cell struct {
	median float64
	delta  string // benchstat's "vs base": "+12.3%", "~", or "" for the base
}

func run(in io.Reader, out io.Writer) error {
	// Skip the configuration lines ("key: value") before the table.
	br := bufio.NewReader(in)
	var table strings.Builder
	for started := false; ; {
		line, err := br.ReadString('\n')
		if strings.HasPrefix(line, ",") {
			started = true
		}
		if started {
			table.WriteString(line)
		}
		if err == io.EOF {
			break
		} else if err != nil {
			return err
		}
	}
	r := csv.NewReader(strings.NewReader(table.String()))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return err
	}
	if len(recs) < 3 {
		return fmt.Errorf("no benchstat table in the input")
	}
	// recs[0] names the columns (a name over each group of fields),
	// recs[1] names the fields: unit, CI, vs base, P.
	type col struct {
		name         string
		value, delta int
	}
	var cols []col
	for i, f := range recs[1] {
		switch {
		case f == "CI" || f == "P" || i == 0:
		case f == "vs base":
			cols[len(cols)-1].delta = i
		default:
			cols = append(cols, col{name: recs[0][i], value: i, delta: -1})
		}
	}
	var workloads []string
	cells := map[string]map[string]cell{}
	for _, rec := range recs[2:] {
		if len(rec) == 0 || rec[0] == "" || rec[0] == "geomean" {
			continue
		}
		w := rec[0]
		workloads = append(workloads, w)
		cells[w] = map[string]cell{}
		for _, c := range cols {
			if c.value >= len(rec) || rec[c.value] == "" {
				continue
			}
			v, err := strconv.ParseFloat(rec[c.value], 64)
			if err != nil {
				return fmt.Errorf("%s/%s: %v", w, c.name, err)
			}
			d := ""
			if c.delta >= 0 && c.delta < len(rec) {
				d = rec[c.delta]
			}
			cells[w][c.name] = cell{v, d}
		}
	}
	fmt.Fprintf(out, "| %s (base: %s) |", "contestant", cols[0].name)
	for _, w := range workloads {
		fmt.Fprintf(out, " %s |", w)
	}
	fmt.Fprint(out, "\n|---|")
	for range workloads {
		fmt.Fprint(out, "---:|")
	}
	fmt.Fprintln(out)
	for _, c := range cols {
		fmt.Fprintf(out, "| %s |", c.name)
		for _, w := range workloads {
			x, ok := cells[w][c.name]
			base := cells[w][cols[0].name]
			switch {
			case !ok:
				fmt.Fprint(out, " – |")
			case c.name == cols[0].name:
				fmt.Fprintf(out, " %s (1.00×) |", seconds(x.median))
			default:
				verdict := ""
				if x.delta == "~" {
					verdict = ", ~"
				}
				fmt.Fprintf(out, " %s (%.2f×%s) |", seconds(x.median), x.median/base.median, verdict)
			}
		}
		fmt.Fprintln(out)
	}
	return nil
}

// seconds formats a duration given in seconds, benchstat-style.
func seconds(s float64) string {
	switch {
	case s < 1e-6:
		return strconv.FormatFloat(s*1e9, 'f', 1, 64) + " ns"
	case s < 1e-3:
		return strconv.FormatFloat(s*1e6, 'f', 3, 64) + " µs"
	}
	return strconv.FormatFloat(s*1e3, 'f', 3, 64) + " ms"
}
