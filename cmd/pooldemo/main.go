// Pooldemo runs a short workload through each of the five pool patterns,
// as generated for the example task types of package generated, and
// prints their statistics: a table of the counters and latencies every
// pool has, then what is particular to each pattern (scaling events,
// steals, per-priority waits, batch sizes). It is the README's first
// command:
//
//	go generate ./... && go run ./cmd/pooldemo
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/poolgen/poolgen/generated"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

func main() {
	n := flag.Int("n", 200_000, "tasks for the fixed pools")
	flag.Parse()
	if err := run(os.Stdout, *n); err != nil {
		fmt.Fprintln(os.Stderr, "pooldemo:", err)
		os.Exit(1)
	}
}

// pool is the contract every pool shares.
type pool[T any] interface {
	Submit(ctx context.Context, t T) error
	Shutdown(ctx context.Context) error
	Stats() poolrt.Stats
}

type row struct {
	name    string
	elapsed time.Duration
	stats   poolrt.Stats
}

func run(w io.Writer, n int) error {
	procs := runtime.GOMAXPROCS(0)
	fmt.Fprintf(w, "poolgen demo: GOMAXPROCS=%d\n\n", procs)
	var rows []row
	add := func(r row, err error) error {
		if err == nil {
			rows = append(rows, r)
		}
		return err
	}
	var totals generated.Totals
	resize := func(i int) generated.Resize {
		src := fmt.Sprintf("img%03d.png", i%1000)
		if i%10_000 == 9_999 {
			src = "" // fails: counted in Failed
		}
		return generated.Resize{Src: src, Width: 64, Height: 1 + i%8, Done: &totals}
	}

	// fixed: generated and generic, the same workload.
	gp, err := generated.NewResizeFixedPool()
	if err != nil {
		return err
	}
	if err := add(drive("fixed    ResizeFixedPool", gp, n, procs, resize)); err != nil {
		return err
	}
	tp, err := templates.NewFixedPool[generated.Resize]()
	if err != nil {
		return err
	}
	if err := add(drive("fixed    FixedPool[Resize] (generic)", tp, n, procs, resize)); err != nil {
		return err
	}
	thumbs := make([]*generated.Thumb, n/100)
	for i := range thumbs {
		thumbs[i] = &generated.Thumb{Name: fmt.Sprint("t", i), Size: 16 + i%48}
	}
	thp, err := generated.NewThumbFixedPool(poolrt.OnFull(poolrt.CallerRuns), poolrt.QueueSize(64))
	if err != nil {
		return err
	}
	if err := add(drive("fixed    ThumbFixedPool (CallerRuns)", thp, len(thumbs), procs, func(i int) *generated.Thumb { return thumbs[i] })); err != nil {
		return err
	}

	// dynamic: a burst, then quiet: it scales up, then back down.
	dp, err := generated.NewResizeDynamicPool(poolrt.WorkerLimits(1, 4*procs),
		poolrt.ScaleInterval(10*time.Millisecond), poolrt.Cooldown(20*time.Millisecond))
	if err != nil {
		return err
	}
	slow := func(i int) generated.Resize {
		return generated.Resize{Src: "big.png", Width: 64, Height: 4000, Done: &totals}
	}
	burst := n / 50
	if err := drivePhase(dp, burst, procs, slow); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond) // quiet: the controller scales down
	if err := add(finish("dynamic  ResizeDynamicPool", dp, burst, time.Time{})); err != nil {
		return err
	}
	dynStats := rows[len(rows)-1].stats.Scaling

	// stealing: a fork-join sum over a range, split down to leaves.
	sp, err := generated.NewSumRangeStealingPool()
	if err != nil {
		return err
	}
	start := time.Now()
	root, total := generated.NewSumRoot()
	const hi = 20_000_000
	if err := sp.Submit(context.Background(), generated.SumRange{Lo: 0, Hi: hi, Leaf: 20_000, Out: root, Pool: sp}); err != nil {
		return err
	}
	sum := <-total
	if want := int64(hi) * (hi - 1) / 2; sum != want {
		return fmt.Errorf("stealing: sum %d, want %d", sum, want)
	}
	workers := sp.Stats().Workers
	if err := sp.Shutdown(context.Background()); err != nil {
		return err
	}
	spStats := sp.Stats()
	spStats.Workers = workers
	rows = append(rows, row{name: "stealing SumRangeStealingPool", elapsed: time.Since(start), stats: spStats})
	stealStats := rows[len(rows)-1].stats.Stealing

	// priority: workers saturated by low-urgency tickets, a few urgent ones.
	pp, err := generated.NewTicketPriorityPool(poolrt.Workers(2), poolrt.Aging(50*time.Millisecond),
		poolrt.Bands(5), poolrt.LatencySampling(1), poolrt.QueueSize(4096))
	if err != nil {
		return err
	}
	tickets := 2000
	if err := add(drive("priority TicketPriorityPool (aging)", pp, tickets, procs, func(i int) generated.Ticket {
		urgency := 0
		if i%10 == 0 {
			urgency = 9
		}
		return generated.Ticket{ID: i, Urgency: urgency, Work: 50 * time.Microsecond}
	})); err != nil {
		return err
	}
	prioStats := rows[len(rows)-1].stats.Priority

	// batch: orders of a few customers, saved a batch per customer.
	generated.Ledger.Reset()
	bp, err := generated.NewOrderBatchPool(poolrt.MaxBatch(64), poolrt.Linger(2*time.Millisecond))
	if err != nil {
		return err
	}
	orders := n / 4
	if err := add(drive("batch    OrderBatchPool", bp, orders, procs, func(i int) generated.Order {
		return generated.Order{ID: i, Customer: fmt.Sprint("c", i%7), Cents: 100}
	})); err != nil {
		return err
	}
	batchStats := rows[len(rows)-1].stats.Batch

	printTable(w, rows)

	fmt.Fprintf(w, "\ndynamic: %d ups, %d downs, peak %d workers, %d evaluations; changes:\n", dynStats.Ups, dynStats.Downs, dynStats.Peak, dynStats.Evaluations)
	for _, e := range dynStats.Events {
		fmt.Fprintf(w, "  %2d → %-2d  queue %4d, utilisation %.2f: %s\n", e.From, e.To, e.Signals.QueueDepth, e.Signals.Utilization, e.Reason)
	}
	st := stealStats
	fmt.Fprintf(w, "\nstealing: sum 0..%d = %d; tasks run from own deque %d, from the injector %d, stolen %d; steals %d of %d attempts; forked %d\n",
		hi-1, sum, st.Local, st.Injector, st.Stolen, st.Steals, st.StealAttempts, st.Forked)
	fmt.Fprintf(w, "\npriority: queue wait by urgency band (workers saturated, aging 50ms/level):\n")
	for _, b := range prioStats.Bands {
		band := fmt.Sprintf("%d..%d", b.Lo, b.Hi)
		switch {
		case b.Lo == math.MinInt64:
			band = fmt.Sprintf("≤ %d", b.Hi)
		case b.Hi == math.MaxInt64:
			band = fmt.Sprintf("≥ %d", b.Lo)
		}
		fmt.Fprintf(w, "  urgency %-5s %5d tasks, wait p50 %v, p99 %v, max %v\n", band+":", b.Completed, short(b.Wait.P50), short(b.Wait.P99), short(b.Wait.Max))
	}
	fmt.Fprintf(w, "  lowest band's longest wait: %v\n", short(prioStats.LowestMaxWait))
	batches, saved, cents := generated.Ledger.Totals("c0")
	fmt.Fprintf(w, "\nbatch: %d orders in %d batches (mean %.1f): %d full, %d after lingering, %d at shutdown; customer c0 saved %d cents\n",
		saved, batches, batchStats.MeanSize, batchStats.Full, batchStats.Linger, batchStats.Shutdown, cents)
	fmt.Fprintf(w, "\nresized %d images (checksum %x); rendered %d thumbnails\n", totals.Count.Load(), totals.Sum.Load(), len(thumbs))
	return nil
}

// drive submits n tasks from several goroutines, shuts the pool down and
// checks the counters: every accepted task ran exactly once.
func drive[T any](name string, p pool[T], n, submitters int, task func(i int) T) (row, error) {
	start := time.Now()
	if err := drivePhase(p, n, submitters, task); err != nil {
		return row{}, fmt.Errorf("%s: %w", name, err)
	}
	return finish(name, p, n, start)
}

func drivePhase[T any](p pool[T], n, submitters int, task func(i int) T) error {
	var wg sync.WaitGroup
	errs := make(chan error, submitters)
	for s := range submitters {
		wg.Go(func() {
			for i := s; i < n; i += submitters {
				if err := p.Submit(context.Background(), task(i)); err != nil {
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

func finish[T any](name string, p pool[T], n int, start time.Time) (row, error) {
	workers := p.Stats().Workers
	if start.IsZero() {
		start = time.Now().Add(-p.Stats().Uptime)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		return row{}, fmt.Errorf("%s: shutdown: %w", name, err)
	}
	st := p.Stats()
	if st.Submitted != uint64(n) || st.Completed+st.Panicked != uint64(n) {
		return row{}, fmt.Errorf("%s: submitted %d, completed %d, panicked %d; want %d", name, st.Submitted, st.Completed, st.Panicked, n)
	}
	st.Workers = workers // Stats counts live workers: none after Shutdown
	return row{name: name, elapsed: time.Since(start), stats: st}, nil
}

func printTable(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	// Numbers align right; the names, padded to one width, stay left.
	const header = "pattern  pool"
	width := len(header)
	for _, r := range rows {
		width = max(width, len(r.name))
	}
	fmt.Fprintf(tw, "%-*s\tworkers\tsubmitted\tcompleted\tfailed\tcaller-ran\ttasks/s\tutil\twait p50\twait p99\trun p50\trun p99\t\n", width, header)
	for _, r := range rows {
		s := r.stats
		fmt.Fprintf(tw, "%-*s\t%d\t%d\t%d\t%d\t%d\t%.0f\t%.0f%%\t%v\t%v\t%v\t%v\t\n",
			width, r.name, s.Workers, s.Submitted, s.Completed, s.Failed, s.CallerRuns,
			float64(s.Completed)/r.elapsed.Seconds(), 100*s.Utilization,
			short(s.Wait.P50), short(s.Wait.P99), short(s.Run.P50), short(s.Run.P99))
	}
	tw.Flush()
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
