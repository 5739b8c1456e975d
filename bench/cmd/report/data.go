package main

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// dataset is every measurement of the raw files, by benchmark, sub-name
// configuration and unit.
type dataset struct {
	config map[string]string // file configuration, last value wins
	// configs is each file's own configuration, in the order read.
	configs []map[string]string
	// values by benchmark, then canonical configuration, then unit.
	values map[string]map[string]map[string][]float64
	// order of first appearance of each key's values, by benchmark.
	keyOrder map[string]map[string][]string
	procs    []string // GOMAXPROCS values seen, in order
	warnings []string
}

// kv is one key=value part of a benchmark's name.
type kv struct{ key, value string }

// canon is the canonical form of a configuration: its parts sorted by key.
func canon(parts []kv) string {
	parts = slices.Clone(parts)
	slices.SortFunc(parts, func(a, b kv) int { return strings.Compare(a.key, b.key) })
	var sb strings.Builder
	for i, p := range parts {
		if i > 0 {
			sb.WriteByte('/')
		}
		sb.WriteString(p.key + "=" + p.value)
	}
	return sb.String()
}

// parseCanon undoes canon.
func parseCanon(s string) []kv {
	if s == "" {
		return nil
	}
	var out []kv
	for _, p := range strings.Split(s, "/") {
		k, v, _ := strings.Cut(p, "=")
		out = append(out, kv{k, v})
	}
	return out
}

// load reads the raw benchmark output files.
func load(files []string, skip *regexp.Regexp) (*dataset, error) {
	d := &dataset{
		config:   map[string]string{},
		values:   map[string]map[string]map[string][]float64{},
		keyOrder: map[string]map[string][]string{},
	}
	for _, name := range files {
		d.config = map[string]string{}
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		r := benchfmt.NewReader(f, name)
		for r.Scan() {
			switch rec := r.Result().(type) {
			case *benchfmt.SyntaxError:
				d.warnings = append(d.warnings, rec.Error())
			case *benchfmt.Result:
				if skip == nil || !skip.MatchString("Benchmark"+rec.Name.String()) {
					d.add(rec)
				}
			}
		}
		err = r.Err()
		f.Close()
		if err == nil {
			err = readTrailer(name, d.config)
		}
		d.configs = append(d.configs, d.config)
		if err != nil {
			return nil, err
		}
	}
	if len(d.values) == 0 {
		return nil, fmt.Errorf("no benchmark results in %s", strings.Join(files, ", "))
	}
	return d, nil
}

// readTrailer reads the report's own configuration lines (report-*),
// which the benchfmt reader attaches only to results that follow them:
// those written after the last result (the load at the end, the
// duration) would be lost.
func readTrailer(name string, config map[string]string) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok && strings.HasPrefix(k, "report-") && !strings.ContainsAny(k, " \t") {
			config[k] = strings.TrimSpace(v)
		}
	}
	return nil
}

func (d *dataset) add(rec *benchfmt.Result) {
	for _, c := range rec.Config {
		if c.File {
			d.config[c.Key] = string(c.Value)
		}
	}
	base, parts := rec.Name.Parts()
	bench := string(base)
	var cfg []kv
	procs := "1" // go test leaves the -N suffix off when GOMAXPROCS is 1
	for _, p := range parts {
		s := string(p)
		switch {
		case strings.HasPrefix(s, "-"):
			procs = s[1:]
		default:
			s = strings.TrimPrefix(s, "/")
			k, v, ok := strings.Cut(s, "=")
			if !ok {
				k, v = "sub", s
			}
			cfg = append(cfg, kv{k, v})
		}
	}
	if !slices.Contains(d.procs, procs) {
		d.procs = append(d.procs, procs)
	}
	cfg = append(cfg, kv{"procs", procs})
	if d.keyOrder[bench] == nil {
		d.keyOrder[bench] = map[string][]string{}
		d.values[bench] = map[string]map[string][]float64{}
	}
	for _, p := range cfg {
		if !slices.Contains(d.keyOrder[bench][p.key], p.value) {
			d.keyOrder[bench][p.key] = append(d.keyOrder[bench][p.key], p.value)
		}
	}
	key := canon(cfg)
	m := d.values[bench][key]
	if m == nil {
		m = map[string][]float64{}
		d.values[bench][key] = m
	}
	for _, v := range rec.Values {
		unit, val := v.Unit, v.Value
		if v.OrigUnit != "" {
			unit, val = v.OrigUnit, v.OrigValue
		}
		m[unit] = append(m[unit], val)
	}
}

// get returns the measurements of bench in configuration cfg (procs
// filled in if the data has one GOMAXPROCS) for unit.
func (d *dataset) get(bench string, cfg []kv, unit string) []float64 {
	if !slices.ContainsFunc(cfg, func(p kv) bool { return p.key == "procs" }) && len(d.procs) == 1 {
		cfg = append(slices.Clone(cfg), kv{"procs", d.procs[0]})
	}
	return d.values[bench][canon(cfg)][unit]
}

// stat is the summary of one sample.
type stat struct {
	n      int
	center float64
	lo, hi float64
	sample *benchmath.Sample
}

var thresholds = benchmath.DefaultThresholds

func summarize(values []float64) *stat {
	if len(values) == 0 {
		return nil
	}
	s := benchmath.NewSample(slices.Clone(values), &thresholds)
	sum := benchmath.AssumeNothing.Summary(s, 0.95)
	return &stat{n: len(values), center: sum.Center, lo: sum.Lo, hi: sum.Hi, sample: s}
}

// ci returns the confidence interval as ±percent of the center, as
// benchstat shows it.
func (s *stat) ci() string {
	if math.IsInf(s.lo, 0) || math.IsInf(s.hi, 0) || math.IsNaN(s.lo) || math.IsNaN(s.hi) {
		return "±∞"
	}
	if s.center == 0 {
		if s.lo == 0 && s.hi == 0 {
			return "±0%"
		}
		return "±∞"
	}
	d := max(math.Abs(s.hi-s.center), math.Abs(s.center-s.lo)) / math.Abs(s.center) * 100
	switch {
	case d >= 10:
		return fmt.Sprintf("±%.0f%%", d)
	case d >= 1:
		return fmt.Sprintf("±%.0f%%", d)
	}
	return fmt.Sprintf("±%.1f%%", d)
}

// compare reports whether s differs significantly from base, and the
// p-value.
func compare(base, s *stat) (significant bool, p float64) {
	c := benchmath.AssumeNothing.Compare(base.sample, s.sample)
	return c.P < c.Alpha, c.P
}
