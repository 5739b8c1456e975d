// Report runs the benchmark suite of this module and writes RESULTS.md.
//
// Usage, from the bench directory:
//
//	go run ./cmd/report                  # the full suite: -count 10, about an hour on 2 cores
//	go run ./cmd/report -quick           # -count 3, short benchtimes and scenarios: minutes
//	go run ./cmd/report -count 5 -notes results/notes.md
//	go run ./cmd/report -in results/2026-11-27-epyc-2cpu.txt   # tables only, from raw output
//	go run ./cmd/report -cpu 1,2,4,8,16 -out SCALING.md -readme ''  # scaling curves
//
// It builds the benchmark binary (go test -c), then runs it -count times.
// Each round runs every selected workload once (-test.count=1), so that
// the samples of one contestant are spread over the whole run instead of
// falling into one stretch of a shared machine's load. The throughput
// workloads run for -benchtime each; the scenario workloads (latency,
// priority, memory, idle) once per round, at the size -size selects.
// The raw output, with the machine, Go version, commit and load written
// into it as configuration lines, goes to results/<date>-<label>.txt;
// then the results are summarized with golang.org/x/perf's benchfmt and
// benchmath as benchstat does (median, 95% confidence interval,
// Mann-Whitney U test at α = 0.05) into -out, one table per workload with
// every contestant's ratio to the base row (poolgen's generated pool), and
// the headline table replaces the one between the markers in -readme.
//
// With several GOMAXPROCS values (-cpu, or raw files run with -test.cpu)
// each table has a column per GOMAXPROCS instead, and is also drawn as an
// SVG plot beside -out, linked under the table (plot.go).
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Workload groups: the throughput workloads size themselves by
// -benchtime; the scenario workloads run a fixed amount of work once
// (-test.benchtime=1x).
var (
	throughputWorkloads = []string{"Tiny", "Spin1us", "Sleep1ms", "ForkJoin", "Batch", "MetricsCost", "CreateShutdown"}
	scenarioWorkloads   = []string{"Latency", "Priority", "Memory", "Idle"}
)

type options struct {
	quick     bool
	count     int
	benchtime string
	size      string
	workloads string
	tags      string
	cpu       string
	label     string
	rawDir    string
	out       string
	readme    string
	notes     string
	in        string
	extra     string
	code      string
	filter    string
	title     string
	skip      string
}

func main() {
	var o options
	flag.BoolVar(&o.quick, "quick", false, "a quick run: -count 3 -benchtime 200ms -size quick unless given")
	flag.IntVar(&o.count, "count", 0, "rounds: samples per benchmark (default 10, 3 with -quick)")
	flag.StringVar(&o.benchtime, "benchtime", "", "benchtime of the throughput workloads (default 1s, 200ms with -quick)")
	flag.StringVar(&o.size, "size", "", "size of the scenario workloads: smoke, quick or full (default full, quick with -quick)")
	flag.StringVar(&o.workloads, "workloads", "", "comma-separated workloads to run (default all): "+strings.Join(append(slices.Clone(throughputWorkloads), scenarioWorkloads...), ","))
	flag.StringVar(&o.tags, "tags", "", "build tags for the benchmark binary")
	flag.StringVar(&o.cpu, "cpu", "", "GOMAXPROCS values to run every benchmark at, e.g. 1,2,4,8,16 (go test -cpu)")
	flag.StringVar(&o.label, "label", "", "label of the raw output file (default <cpu model>-<n>cpu)")
	flag.StringVar(&o.rawDir, "raw", "results", "directory for the raw output")
	flag.StringVar(&o.out, "out", "RESULTS.md", "the report to write")
	flag.StringVar(&o.readme, "readme", "README.md", "file whose headline table to replace ('' for none)")
	flag.StringVar(&o.notes, "notes", "", "markdown file appended to the report as its observations")
	flag.StringVar(&o.in, "in", "", "comma-separated raw output files to summarize instead of running the suite")
	flag.StringVar(&o.filter, "filter", "", "sub-benchmark patterns appended to the selection, as go test -bench's after the first slash, e.g. 'impl=poolgen'")
	flag.StringVar(&o.skip, "skip", "", "regexp: leave out the results whose full benchmark name matches (superseded measurements)")
	flag.StringVar(&o.title, "title", "Results", "the report's title")
	flag.StringVar(&o.code, "code", "", "what code is measured (default: the git commit, and whether the tree has uncommitted changes)")
	flag.StringVar(&o.extra, "args", "", "extra flags for the benchmark binary, e.g. '-lat.task=50us'")
	flag.Parse()
	if err := run(&o); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(o *options) error {
	if o.count == 0 {
		o.count = 10
		if o.quick {
			o.count = 3
		}
	}
	if o.benchtime == "" {
		o.benchtime = "1s"
		if o.quick {
			o.benchtime = "200ms"
		}
	}
	if o.size == "" {
		o.size = "full"
		if o.quick {
			o.size = "quick"
		}
	}
	var files []string
	if o.in != "" {
		files = strings.Split(o.in, ",")
	} else {
		raw, err := runSuite(o)
		if err != nil {
			return err
		}
		files = []string{raw}
	}
	var skip *regexp.Regexp
	if o.skip != "" {
		var err error
		if skip, err = regexp.Compile(o.skip); err != nil {
			return fmt.Errorf("-skip: %w", err)
		}
	}
	data, err := load(files, skip)
	if err != nil {
		return err
	}
	var notes []byte
	if o.notes != "" {
		if notes, err = os.ReadFile(o.notes); err != nil {
			return err
		}
	}
	rel := make([]string, len(files))
	for i, f := range files {
		// links relative to the report
		r, err := filepath.Rel(filepath.Dir(o.out), f)
		if err != nil {
			r = f
		}
		rel[i] = filepath.ToSlash(r)
	}
	plots := newPlotSet(o.out)
	report, headline := render(data, rel, notes, o.title, plots)
	if err := os.WriteFile(o.out, report, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "report: wrote %s from %s\n", o.out, strings.Join(files, ", "))
	for _, p := range plots.files {
		// next to the report, which links them by bare name
		if err := os.WriteFile(filepath.Join(filepath.Dir(o.out), p.name), p.data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "report: wrote %s\n", filepath.Join(filepath.Dir(o.out), p.name))
	}
	if o.readme != "" {
		if err := replaceHeadline(o.readme, headline); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "report: updated the headline table in %s\n", o.readme)
	}
	return nil
}

// runSuite builds the benchmark binary, runs the rounds and returns the
// raw output file.
func runSuite(o *options) (string, error) {
	if _, err := os.Stat("harness_test.go"); err != nil {
		return "", errors.New("run me from the bench directory (go run ./cmd/report)")
	}
	tp, sc, err := selectWorkloads(o.workloads)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp("", "poolgen-report")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bench.test")
	build := exec.Command("go", "test", "-c", "-o", bin)
	if o.tags != "" {
		build.Args = append(build.Args, "-tags", o.tags)
	}
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	fmt.Fprintln(os.Stderr, "report:", strings.Join(build.Args, " "))
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building the benchmarks: %w", err)
	}

	m := describeMachine()
	if o.code != "" {
		m.commit = o.code
	}
	label := o.label
	if label == "" {
		label = fmt.Sprintf("%s-%dcpu", m.short, runtime.NumCPU())
	}
	if o.quick {
		label += "-quick"
	}
	if err := os.MkdirAll(o.rawDir, 0o755); err != nil {
		return "", err
	}
	start := time.Now().UTC()
	raw := filepath.Join(o.rawDir, start.Format("2006-01-02")+"-"+label+".txt")
	f, err := os.Create(raw)
	if err != nil {
		return "", err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	defer w.Flush()

	cmdline := "go run ./cmd/report " + strings.Join(os.Args[1:], " ")
	header := [][2]string{
		{"report-date", start.Format(time.RFC3339)},
		{"report-command", strings.TrimSpace(cmdline)},
		{"report-go", m.goVersion},
		{"report-cpu-model", m.cpu},
		{"report-cpus", fmt.Sprint(runtime.NumCPU())},
		{"report-commit", m.commit},
		{"report-count", fmt.Sprint(o.count)},
		{"report-benchtime", o.benchtime},
		{"report-tags", o.tags},
		{"report-filter", o.filter},
		{"report-loadavg-start", loadavg()},
	}
	for _, kv := range header {
		fmt.Fprintf(w, "%s: %s\n", kv[0], kv[1])
	}
	// Calibrate the spinning tasks once, so that every round runs the
	// same work.
	rounds, err := calibrate(bin)
	if err != nil {
		return "", err
	}
	common := []string{"-test.run", "^$", "-test.benchmem", "-test.count", "1", "-test.timeout", "0"}
	if o.cpu != "" {
		common = append(common, "-test.cpu", o.cpu)
	}
	args := append([]string{"-size=" + o.size, "-spin.rounds=" + rounds}, strings.Fields(o.extra)...)
	for round := 1; round <= o.count; round++ {
		groups := []struct {
			workloads []string
			benchtime string
		}{{tp, o.benchtime}, {sc, "1x"}}
		for _, g := range groups {
			if len(g.workloads) == 0 {
				continue
			}
			bench := "^Benchmark(" + strings.Join(g.workloads, "|") + ")$"
			if o.filter != "" {
				bench += "/" + o.filter
			}
			cmd := exec.Command(bin, append(append(slices.Clone(common), "-test.bench", bench, "-test.benchtime", g.benchtime), args...)...)
			fmt.Fprintf(os.Stderr, "report: round %d/%d (load %s): %s\n", round, o.count, loadavg(), strings.Join(cmd.Args[1:], " "))
			if err := runTee(cmd, w); err != nil {
				return "", err
			}
		}
	}
	fmt.Fprintf(w, "report-loadavg-end: %s\n", loadavg())
	fmt.Fprintf(w, "report-duration: %s\n", time.Since(start).Round(time.Second))
	return raw, nil
}

// runTee runs cmd, copying its output to w and its benchmark lines to
// stderr for progress.
func runTee(cmd *exec.Cmd, w io.Writer) error {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var failed bool
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Benchmark"):
			fmt.Fprintln(os.Stderr, line)
		case strings.HasPrefix(line, "--- FAIL"), strings.HasPrefix(line, "FAIL"), strings.HasPrefix(line, "panic"):
			failed = true
			fmt.Fprintln(os.Stderr, line)
		case line == "PASS":
			continue
		}
		fmt.Fprintln(w, line)
	}
	werr := cmd.Wait()
	if werr != nil || failed {
		return fmt.Errorf("the benchmarks failed (%v): see the output above", werr)
	}
	return sc.Err()
}

// calibrate runs the benchmark binary without benchmarks and returns the
// spin rounds it calibrated.
func calibrate(bin string) (string, error) {
	out, err := exec.Command(bin, "-test.run", "^$", "-size=smoke").Output()
	if err != nil {
		return "", fmt.Errorf("calibrating: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "spin1us-rounds: "); ok {
			fmt.Fprintln(os.Stderr, "report: spin1us-rounds", v, "for every round")
			return strings.TrimSpace(v), nil
		}
	}
	return "", errors.New("calibrating: the benchmarks printed no spin1us-rounds")
}

// selectWorkloads splits the -workloads list into the two groups.
func selectWorkloads(list string) (throughput, scenario []string, err error) {
	if list == "" {
		return throughputWorkloads, scenarioWorkloads, nil
	}
	for _, w := range strings.Split(list, ",") {
		w = strings.TrimSpace(w)
		switch {
		case slices.ContainsFunc(throughputWorkloads, func(x string) bool { return strings.EqualFold(x, w) }):
			i := slices.IndexFunc(throughputWorkloads, func(x string) bool { return strings.EqualFold(x, w) })
			throughput = append(throughput, throughputWorkloads[i])
		case slices.ContainsFunc(scenarioWorkloads, func(x string) bool { return strings.EqualFold(x, w) }):
			i := slices.IndexFunc(scenarioWorkloads, func(x string) bool { return strings.EqualFold(x, w) })
			scenario = append(scenario, scenarioWorkloads[i])
		default:
			return nil, nil, fmt.Errorf("-workloads: unknown workload %q", w)
		}
	}
	return throughput, scenario, nil
}

// machine describes where the suite runs.
type machine struct {
	goVersion string
	cpu       string // model name
	short     string // a label for file names
	commit    string
}

func describeMachine() machine {
	m := machine{goVersion: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH, cpu: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	m.short = "unknown"
	for _, f := range strings.Fields(strings.ToLower(m.cpu)) {
		if f != "amd" && f != "intel(r)" && f != "processor" && f != "cpu" {
			m.short = strings.Trim(f, "()")
			break
		}
	}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.commit = "commit " + strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "status", "--porcelain", "--", "..").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
			m.commit += " plus uncommitted changes"
		}
	} else {
		m.commit = "unknown (not a git checkout)"
	}
	return m
}

// loadavg returns the 1, 5 and 15 minute load averages.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// Headline markers in the README.
const (
	headlineStart = "<!-- headline:start (written by go run ./cmd/report) -->"
	headlineEnd   = "<!-- headline:end -->"
)

// replaceHeadline puts table between the headline markers of file.
func replaceHeadline(file string, table []byte) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	i := bytes.Index(b, []byte(headlineStart))
	j := bytes.Index(b, []byte(headlineEnd))
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %q ... %q markers", file, headlineStart, headlineEnd)
	}
	var nb bytes.Buffer
	nb.Write(b[:i+len(headlineStart)])
	nb.WriteString("\n")
	nb.Write(table)
	nb.Write(b[j:])
	return os.WriteFile(file, nb.Bytes(), 0o644)
}
