// Pooldemo runs a short workload through every kind of pool poolgen makes
// (fixed, dynamic, work-stealing, priority, earliest-deadline-first,
// shortest-job-first and batch), plus a fixed pool under the Reject
// policy, as generated for the example task types of package generated,
// and prints their statistics: two tables of the counters and latencies
// every pool has, then what is particular to each pattern (scaling events,
// steals, per-band waits, late tickets, batch sizes). It is the README's
// first command:
//
//	go generate ./... && go run ./examples/pooldemo
//
// Its output fits 100 columns. -n sets the size of the workload.
//
// With -http host:port it runs instead the same kinds of pools, each with a
// name (poolrt.Name), and feeds them without end, until it is interrupted
// (SIGINT or SIGTERM); it serves meanwhile their metrics for Prometheus on
// /metrics and poolmon's live page of them on /debug/pools/. It then stops
// serving, shuts the pools down and exits:
//
//	go run ./examples/pooldemo -http localhost:8080
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/poolgen/poolgen/generated"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// maxColumns is the width the output fits: longer lines are wrapped.
const maxColumns = 100

func main() {
	n := flag.Int("n", 200_000, "tasks for the fixed pools; the other workloads scale with it")
	addr := flag.String("http", "", "serve /metrics and /debug/pools/ on `host:port` and run the workload until interrupted")
	flag.Parse()
	// The workload fails and drops tasks on purpose, and the tables and
	// the metrics count them: the pools' log records of each would only
	// bury the tables.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	var err error
	if *addr == "" {
		err = run(os.Stdout, *n)
	} else {
		err = serveAt(*addr, *n)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pooldemo:", err)
		os.Exit(1)
	}
}

// serveAt listens on addr and serves until SIGINT or SIGTERM.
func serveAt(addr string, n int) error {
	if n < 1 {
		return fmt.Errorf("-n must be at least 1, not %d", n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return serve(ctx, ln, n, os.Stdout)
}

// pool is the contract every pool shares.
type pool[T any] interface {
	Submit(ctx context.Context, t T) error
	Shutdown(ctx context.Context) error
	Stats() poolrt.Stats
}

// row is one pool's line in the tables.
type row struct {
	pattern, pool string
	// elapsed is the time tasks/s is computed over.
	elapsed time.Duration
	stats   poolrt.Stats
	// workers is the worker count as shown: the number of workers, or a
	// dynamic pool's peak → final size.
	workers string
}

// demo collects the tables' rows and the per-pattern notes printed after
// them.
type demo struct {
	procs int
	rows  []row
	notes strings.Builder
	// totals counts the resizes of every pool that runs Resize tasks.
	totals generated.Totals
	// thumbs is the number of thumbnails rendered.
	thumbs int
}

// notef appends a line to the per-pattern notes.
func (d *demo) notef(format string, args ...any) {
	fmt.Fprintf(&d.notes, format+"\n", args...)
}

// run runs the whole demo with n tasks for the fixed pools and writes its
// report to w. The other workloads are fractions of n, with a floor so that
// small values of n still show every pattern.
func run(w io.Writer, n int) error {
	if n < 1 {
		return fmt.Errorf("-n must be at least 1, not %d", n)
	}
	d := &demo{procs: runtime.GOMAXPROCS(0)}
	steps := []func(n int) error{
		d.fixed, d.reject, d.dynamic, d.stealing, d.priority, d.deadline, d.cost, d.batch,
	}
	for _, step := range steps {
		if err := step(n); err != nil {
			return err
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "poolgen demo: GOMAXPROCS=%d, %s tasks per fixed pool (-n)\n\n", d.procs, commas(n))
	d.printTables(&out)
	out.WriteString(d.notes.String())
	fmt.Fprintf(&out, "\nresized %s images; rendered %s thumbnails\n",
		commas(d.totals.Count.Load()), commas(d.thumbs))
	_, err := io.WriteString(w, wrap(out.String(), maxColumns))
	return err
}

// failEvery makes every failEvery-th resize of the fixed pools fail, on
// purpose: it shows the failed counter at work.
const failEvery = 1000

// fixed runs the same workload through a generated fixed pool and its
// generic twin, then thumbnails through a pool whose submitters run tasks
// themselves when its queue is full.
func (d *demo) fixed(n int) error {
	resize := func(i int) generated.Resize {
		src := fmt.Sprintf("img%03d.png", i%1000)
		if i%failEvery == failEvery-1 {
			src = "" // fails on purpose: counted in Failed
		}
		return generated.Resize{Src: src, Width: 64, Height: 1 + i%8, Done: &d.totals}
	}
	gp, err := generated.NewResizeFixedPool()
	if err != nil {
		return err
	}
	if err := drive(d, "fixed", "ResizeFixedPool", gp, n, resize); err != nil {
		return err
	}
	tp, err := templates.NewFixedPool[generated.Resize]()
	if err != nil {
		return err
	}
	if err := drive(d, "fixed", "FixedPool[Resize]", tp, n, resize); err != nil {
		return err
	}

	thumbs := make([]*generated.Thumb, max(n/100, 20))
	d.thumbs = len(thumbs)
	for i := range thumbs {
		thumbs[i] = &generated.Thumb{Name: fmt.Sprint("t", i), Size: 16 + i%48}
	}
	const queue = 64
	thp, err := generated.NewThumbFixedPool(poolrt.OnFull(poolrt.CallerRuns), poolrt.QueueSize(queue))
	if err != nil {
		return err
	}
	if err := drive(d, "fixed", "ThumbFixedPool (CallerRuns)", thp, len(thumbs),
		func(i int) *generated.Thumb { return thumbs[i] }); err != nil {
		return err
	}
	st := d.last().stats
	d.notef("\nfixed: ThumbFixedPool's queue holds %d thumbnails; when it was full, the submitters",
		queue)
	d.notef("  rendered %s of the %s themselves (CallerRuns).",
		commas(st.CallerRuns), commas(len(thumbs)))
	return nil
}

// reject sends a burst far larger than its queue to a fixed pool under the
// Reject policy: Submit turns away what does not fit.
func (d *demo) reject(n int) error {
	const queue = 16
	attempts := max(n/200, 500)
	p, err := generated.NewResizeFixedPool(poolrt.Workers(1), poolrt.QueueSize(queue),
		poolrt.OnFull(poolrt.Reject))
	if err != nil {
		return err
	}
	start := time.Now()
	var rejected atomic.Uint64
	err = submitAll(p, attempts, d.procs, func(i int) generated.Resize {
		h := 2000
		if i == 0 {
			h = 1_000_000 // keeps the only worker busy while the burst arrives
		}
		return generated.Resize{Src: "burst.png", Width: 64, Height: h, Done: &d.totals}
	}, func(err error) error {
		if errors.Is(err, poolrt.ErrQueueFull) {
			rejected.Add(1)
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("ResizeFixedPool (Reject): %w", err)
	}
	accepted := attempts - int(rejected.Load())
	if err := finish(d, "fixed", "ResizeFixedPool (Reject)", p, accepted, start, time.Time{}); err != nil {
		return err
	}
	st := d.last().stats
	if st.Rejected != rejected.Load() {
		return fmt.Errorf("ResizeFixedPool (Reject): Stats counts %d rejections, Submit returned %d",
			st.Rejected, rejected.Load())
	}
	d.notef("\nfixed: ResizeFixedPool (Reject), 1 worker and a queue of %d, got %s submissions at once:",
		queue, commas(attempts))
	d.notef("  it accepted %s and rejected %s on purpose, with poolrt.ErrQueueFull.",
		commas(st.Submitted), commas(st.Rejected))
	return nil
}

// dynamic sends a burst to a dynamic pool, then leaves it quiet: it scales
// up, then back down. The quiet time is left out of its tasks/s.
func (d *demo) dynamic(n int) error {
	minW, maxW := 1, 4*d.procs
	p, err := generated.NewResizeDynamicPool(poolrt.WorkerLimits(minW, maxW),
		poolrt.ScaleInterval(10*time.Millisecond), poolrt.Cooldown(20*time.Millisecond))
	if err != nil {
		return err
	}
	slow := func(int) generated.Resize {
		return generated.Resize{Src: "big.png", Width: 64, Height: 4000, Done: &d.totals}
	}
	burst := max(n/50, 100)
	start := time.Now()
	if err := submitAll(p, burst, d.procs, slow, nil); err != nil {
		return fmt.Errorf("ResizeDynamicPool: %w", err)
	}
	// The burst ends when its last task has run.
	const giveUp = 10 * time.Second
	if !waitFor(giveUp, func() bool { st := p.Stats(); return st.Completed+st.Panicked == uint64(burst) }) {
		return fmt.Errorf("ResizeDynamicPool: the burst did not finish in %v", giveUp)
	}
	busy := time.Now()
	// Quiet: the controller scales down, one worker per cooldown. The demo
	// waits until it is back at its minimum (or a second has passed).
	waitFor(time.Second, func() bool { return p.Stats().Scaling.Size <= minW })
	quiet := time.Since(busy)
	sc := p.Stats().Scaling
	if err := finish(d, "dynamic", "ResizeDynamicPool", p, burst, start, busy); err != nil {
		return err
	}
	d.last().workers = fmt.Sprintf("%d → %d", sc.Peak, sc.Size)
	d.notef("\ndynamic: peak %d workers, final size %d (limits %d..%d); %s ups, %s downs, %s evaluations.",
		sc.Peak, sc.Size, minW, maxW, commas(sc.Ups), commas(sc.Downs), commas(sc.Evaluations))
	d.notef("  The burst of %s tasks took %v; tasks/s counts only that, not the %v of quiet",
		commas(burst), short(busy.Sub(start)), short(quiet))
	d.notef("  that followed, on purpose, while the pool scaled back down. Changes of size:")
	for _, e := range sc.Events {
		d.notef("  %2d → %-2d  queue %s, utilization %.2f: %s",
			e.From, e.To, commas(e.Signals.QueueDepth), e.Signals.Utilization, e.Reason)
	}
	return nil
}

// stealing runs a fork-join sum over a range, split down to leaves.
func (d *demo) stealing(n int) error {
	p, err := generated.NewSumRangeStealingPool()
	if err != nil {
		return err
	}
	start := time.Now()
	root, total := generated.NewSumRoot()
	hi := max(n, 1000) * 100
	if err := p.Submit(context.Background(), generated.SumRange{Lo: 0, Hi: hi, Leaf: 20_000, Out: root, Pool: p}); err != nil {
		return err
	}
	sum := <-total
	if want := int64(hi) * int64(hi-1) / 2; sum != want {
		return fmt.Errorf("stealing: sum %d, want %d", sum, want)
	}
	workers := p.Stats().Workers
	if err := p.Shutdown(context.Background()); err != nil {
		return err
	}
	st := p.Stats()
	d.rows = append(d.rows, row{pattern: "stealing", pool: "SumRangeStealingPool",
		elapsed: time.Since(start), stats: st, workers: strconv.Itoa(workers)})
	s := st.Stealing
	d.notef("\nstealing: sum 0..%s = %s; %s tasks forked. Tasks run from",
		commas(hi-1), commas(sum), commas(s.Forked))
	d.notef("  their worker's own deque %s, from the injector %s, stolen %s; steals %s of %s attempts.",
		commas(s.Local), commas(s.Injector), commas(s.Stolen), commas(s.Steals), commas(s.StealAttempts))
	return nil
}

// priority saturates two workers with low-urgency tickets and a few urgent
// ones; aging lets the low urgencies through in the end.
func (d *demo) priority(n int) error {
	const aging = 50 * time.Millisecond
	p, err := generated.NewTicketPriorityPool(poolrt.Workers(2), poolrt.Aging(aging),
		poolrt.Bands(5), poolrt.LatencySampling(1), poolrt.QueueSize(4096))
	if err != nil {
		return err
	}
	tickets := max(n/100, 20)
	if err := drive(d, "priority", "TicketPriorityPool (aging)", p, tickets, func(i int) generated.Ticket {
		urgency := 0
		if i%10 == 0 {
			urgency = 9
		}
		return generated.Ticket{ID: i, Urgency: urgency, Work: 50 * time.Microsecond}
	}); err != nil {
		return err
	}
	ps := d.last().stats.Priority
	d.notef("\npriority: queue wait by urgency band (2 workers saturated, aging %v per level):", aging)
	d.bands("urgency", ps)
	return nil
}

// deadline runs tickets earliest deadline first; every tenth one is
// overdue when it is submitted, on purpose, and the pool drops it.
func (d *demo) deadline(n int) error {
	p, err := generated.NewTicketDeadlinePool(nil, poolrt.Workers(2), poolrt.OnLate(poolrt.DropLate),
		poolrt.LatencySampling(1))
	if err != nil {
		return err
	}
	tickets := max(n/1000, 20)
	now := time.Now()
	if err := drive(d, "deadline", "TicketDeadlinePool", p, tickets, func(i int) generated.Ticket {
		due := now.Add(time.Minute + time.Duration(tickets-i)*time.Millisecond)
		if i%10 == 0 {
			due = now.Add(-time.Millisecond) // overdue on purpose
		}
		return generated.Ticket{ID: i, Due: due, Work: 50 * time.Microsecond}
	}); err != nil {
		return err
	}
	st := d.last().stats
	ps := st.Priority
	d.notef("\ndeadline: %s tickets, earliest deadline first, on 2 workers; %s were overdue on purpose",
		commas(st.Submitted), commas(ps.Dropped+ps.Missed+ps.HandedOff))
	d.notef("  when submitted: the pool dropped %s unrun (OnLate(DropLate)), counted as failed.",
		commas(ps.Dropped))
	return nil
}

// resizeJob is a Resize with a cost, its output rows, for the cost pool.
type resizeJob struct{ generated.Resize }

// Cost returns the job's output rows: its run time is proportional to them.
func (j resizeJob) Cost() int64 { return int64(j.Height) }

// cost runs cheap and costly resizes on two workers, cheapest first.
func (d *demo) cost(n int) error {
	const costly = 1000
	p, err := templates.NewCostPool[resizeJob](poolrt.Workers(2), poolrt.Bands(costly),
		poolrt.LatencySampling(1))
	if err != nil {
		return err
	}
	jobs := max(n/50, 200)
	if err := drive(d, "cost", "CostPool[resizeJob]", p, jobs, func(i int) resizeJob {
		h := 8
		if i%10 == 0 {
			h = 4 * costly
		}
		return resizeJob{generated.Resize{Src: "mixed.png", Width: 64, Height: h, Done: &d.totals}}
	}); err != nil {
		return err
	}
	d.notef("\ncost: queue wait by cost band (cost = output rows; cheapest first, 2 workers):")
	d.bands("cost", d.last().stats.Priority)
	return nil
}

// batch saves the orders of a few customers, a batch per customer.
func (d *demo) batch(n int) error {
	generated.Ledger.Reset()
	p, err := generated.NewOrderBatchPool(poolrt.MaxBatch(64), poolrt.Linger(2*time.Millisecond))
	if err != nil {
		return err
	}
	orders := max(n/4, 100)
	if err := drive(d, "batch", "OrderBatchPool", p, orders, func(i int) generated.Order {
		return generated.Order{ID: i, Customer: fmt.Sprint("c", i%7), Cents: 100}
	}); err != nil {
		return err
	}
	bs := d.last().stats.Batch
	batches, saved, cents := generated.Ledger.Totals("c0")
	d.notef("\nbatch: %s orders in %s batches (mean %.1f): %s full, %s after lingering,",
		commas(saved), commas(batches), bs.MeanSize, commas(bs.Full), commas(bs.Linger))
	d.notef("  %s at shutdown; customer c0 saved %s cents.", commas(bs.Shutdown), commas(cents))
	return nil
}

// bands writes a priority pool's per-band waits.
func (d *demo) bands(label string, ps *poolrt.PriorityStats) {
	for _, b := range ps.Bands {
		band := commas(b.Lo) + ".." + commas(b.Hi)
		switch {
		case b.Lo == math.MinInt64:
			band = "≤ " + commas(b.Hi)
		case b.Hi == math.MaxInt64:
			band = "≥ " + commas(b.Lo)
		}
		d.notef("  %s %-8s %6s tasks, wait p50 %v, p99 %v, max %v", label, band+":",
			commas(b.Completed), short(b.Wait.P50), short(b.Wait.P99), short(b.Wait.Max))
	}
	d.notef("  the last band's longest wait: %v", short(ps.LowestMaxWait))
}

// last returns the latest row.
func (d *demo) last() *row { return &d.rows[len(d.rows)-1] }

// drive submits n tasks from several goroutines, shuts the pool down,
// checks its counters and adds its row.
func drive[T any](d *demo, pattern, name string, p pool[T], n int, task func(i int) T) error {
	start := time.Now()
	if err := submitAll(p, n, d.procs, task, nil); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return finish(d, pattern, name, p, n, start, time.Time{})
}

// submitAll submits tasks 0..n-1 from submitters goroutines. An error from
// Submit goes to onErr, if not nil, which may forgive it by returning nil;
// otherwise it stops the submitter and is returned.
func submitAll[T any](p pool[T], n, submitters int, task func(i int) T, onErr func(error) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, submitters)
	for s := range submitters {
		wg.Go(func() {
			for i := s; i < n; i += submitters {
				err := p.Submit(context.Background(), task(i))
				if err != nil && onErr != nil {
					err = onErr(err)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	return nil
}

// finish shuts p down, checks that every one of the n tasks it accepted
// ran (or panicked) exactly once, and adds its row, with tasks/s computed
// from start to end (to the shutdown if end is zero).
func finish[T any](d *demo, pattern, name string, p pool[T], n int, start, end time.Time) error {
	workers := p.Stats().Workers // Stats counts live workers: none after Shutdown
	if err := p.Shutdown(context.Background()); err != nil {
		return fmt.Errorf("%s: shutdown: %w", name, err)
	}
	if end.IsZero() {
		end = time.Now()
	}
	st := p.Stats()
	if st.Submitted != uint64(n) || st.Completed+st.Panicked != uint64(n) {
		return fmt.Errorf("%s: submitted %d, completed %d, panicked %d; want %d",
			name, st.Submitted, st.Completed, st.Panicked, n)
	}
	d.rows = append(d.rows, row{pattern: pattern, pool: name, elapsed: end.Sub(start),
		stats: st, workers: strconv.Itoa(workers)})
	return nil
}

// waitFor polls cond every millisecond until it holds, and reports
// whether it did before timeout.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// printTables writes the rows as two tables, counters then latencies, and
// says which counts are deliberate.
func (d *demo) printTables(w io.Writer) {
	mark := func(v uint64) string {
		if v == 0 {
			return "0"
		}
		return commas(v) + "*" // every failure and rejection here is deliberate
	}
	counts := [][]string{{"pattern", "pool", "accepted", "completed", "failed", "rejected", "tasks/s"}}
	times := [][]string{{"pattern", "pool", "workers", "util", "wait p50", "wait p99", "run p50", "run p99"}}
	for _, r := range d.rows {
		s := r.stats
		rate := 0.0
		if r.elapsed > 0 {
			rate = float64(s.Completed) / r.elapsed.Seconds()
		}
		counts = append(counts, []string{r.pattern, r.pool, commas(s.Submitted), commas(s.Completed),
			mark(s.Failed), mark(s.Rejected), commas(uint64(math.Round(rate)))})
		times = append(times, []string{r.pattern, r.pool, r.workers,
			fmt.Sprintf("%.0f%%", 100*s.Utilization),
			short(s.Wait.P50).String(), short(s.Wait.P99).String(),
			short(s.Run.P50).String(), short(s.Run.P99).String()})
	}
	table(w, counts, 2)
	var panicked uint64
	for _, r := range d.rows {
		panicked += r.stats.Panicked
	}
	panics := "No task panicked."
	if panicked > 0 {
		panics = fmt.Sprintf("%s tasks panicked, which none should.", commas(panicked))
	}
	fmt.Fprintf(w, "* deliberate: every %s resize has no source and fails; the deadline pool drops\n",
		ordinal(failEvery))
	fmt.Fprintln(w, "  the tickets that were overdue when submitted; the Reject pool's queue is kept small")
	fmt.Fprintln(w, "  so that it turns most of a burst away. "+panics)
	fmt.Fprintln(w)
	table(w, times, 2)
	fmt.Fprintln(w, "workers: for the dynamic pool, its peak → final size. util: utilization, the share")
	fmt.Fprintln(w, "of the workers' time spent running tasks.")
}

// table writes rows as a table whose first left columns align left and the
// others right, with two spaces between columns. Widths count runes.
func table(w io.Writer, rows [][]string, left int) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if i < left {
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// integer is the integer types commas formats.
type integer interface {
	~int | ~int64 | ~uint64
}

// commas formats v in decimal with a comma between groups of three digits:
// 200000 is "200,000".
func commas[I integer](v I) string {
	s := strconv.FormatInt(int64(v), 10)
	if v > 0 && int64(v) < 0 { // a uint64 beyond the int64 range
		s = strconv.FormatUint(uint64(v), 10)
	}
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	b.WriteString(sign)
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// ordinal returns n's English ordinal with thousands separators: "1,000th".
func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return commas(n) + suffix
}

// wrap breaks every line of s longer than width runes at its last space
// that fits, indenting the continuation two spaces more than the line.
// The demo's lines are written to fit; wrap keeps text it does not control,
// such as the reasons for scaling, within the width too.
func wrap(s string, width int) string {
	var out strings.Builder
	for line := range strings.Lines(s) {
		line = strings.TrimSuffix(line, "\n")
		indent := line[:len(line)-len(strings.TrimLeft(line, " "))] + "  "
		for utf8.RuneCountInString(line) > width {
			cut := -1
			for i, r := range line {
				if utf8.RuneCountInString(line[:i]) > width {
					break
				}
				if r == ' ' && strings.TrimSpace(line[:i]) != "" {
					cut = i
				}
			}
			if cut < 0 {
				break // a word longer than the width: leave it whole
			}
			out.WriteString(strings.TrimRight(line[:cut], " ") + "\n")
			line = indent + strings.TrimLeft(line[cut:], " ")
		}
		out.WriteString(line + "\n")
	}
	return out.String()
}

// short rounds d to three significant digits: histogram bucket bounds
// such as 385.875968ms carry more digits than they mean.
func short(d time.Duration) time.Duration {
	unit := time.Duration(1)
	for d/unit >= 1000 {
		unit *= 10
	}
	return d.Round(unit)
}
