// Pooldemo runs a short workload through the pools generated in package
// generated and through their generic twin, then prints each pool's
// statistics as a table. It is the README's first command:
//
//	go generate ./... && go run ./cmd/pooldemo
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
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
	n := flag.Int("n", 200_000, "resize tasks per pool")
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
	submitters := runtime.GOMAXPROCS(0)
	fmt.Fprintf(w, "poolgen demo: %d tasks per pool, %d submitters, GOMAXPROCS=%d\n\n", n, submitters, runtime.GOMAXPROCS(0))
	var rows []row

	var totals generated.Totals
	resize := func(i int) generated.Resize {
		src := fmt.Sprintf("img%03d.png", i%1000)
		if i%10_000 == 9_999 {
			src = "" // fails: counted in Failed
		}
		return generated.Resize{Src: src, Width: 64, Height: 1 + i%8, Done: &totals}
	}

	gp, err := generated.NewResizeFixedPool()
	if err != nil {
		return err
	}
	r, err := drive("ResizeFixedPool (generated)", gp, n, submitters, resize)
	if err != nil {
		return err
	}
	rows = append(rows, r)

	tp, err := templates.NewFixedPool[generated.Resize]()
	if err != nil {
		return err
	}
	r, err = drive("FixedPool[Resize] (generic)", tp, n, submitters, resize)
	if err != nil {
		return err
	}
	rows = append(rows, r)

	thumbs := make([]*generated.Thumb, n/100)
	for i := range thumbs {
		thumbs[i] = &generated.Thumb{Name: fmt.Sprint("t", i), Size: 16 + i%48}
	}
	thp, err := generated.NewThumbFixedPool(poolrt.OnFull(poolrt.CallerRuns), poolrt.QueueSize(64))
	if err != nil {
		return err
	}
	r, err = drive("ThumbFixedPool (generated, CallerRuns)", thp, len(thumbs), submitters, func(i int) *generated.Thumb { return thumbs[i] })
	if err != nil {
		return err
	}
	rows = append(rows, r)
	for _, t := range thumbs {
		if len(t.Pixels()) != t.Size*t.Size {
			return fmt.Errorf("thumb %s was not rendered", t.Name)
		}
	}

	printTable(w, rows)
	fmt.Fprintf(w, "\nresized %d images (checksum %x); rendered %d thumbnails\n", totals.Count.Load(), totals.Sum.Load(), len(thumbs))
	return nil
}

// drive submits n tasks from several goroutines, shuts the pool down and
// checks the counters: every accepted task ran exactly once.
func drive[T any](name string, p pool[T], n, submitters int, task func(i int) T) (row, error) {
	ctx := context.Background()
	workers := p.Stats().Workers
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, submitters)
	for s := range submitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := s; i < n; i += submitters {
				if err := p.Submit(ctx, task(i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return row{}, fmt.Errorf("%s: submit: %w", name, err)
	}
	if err := p.Shutdown(ctx); err != nil {
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
	fmt.Fprintln(tw, "pool\tworkers\tsubmitted\tcompleted\tfailed\tpanicked\tcaller-ran\ttasks/s\tutil\twait p50\twait p99\twait p99.9\trun p50\trun p99\t")
	for _, r := range rows {
		s := r.stats
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%.0f\t%.0f%%\t%v\t%v\t%v\t%v\t%v\t\n",
			r.name, s.Workers, s.Submitted, s.Completed, s.Failed, s.Panicked, s.CallerRuns,
			float64(s.Completed)/r.elapsed.Seconds(), 100*s.Utilization,
			s.Wait.P50, s.Wait.P99, s.Wait.P999, s.Run.P50, s.Run.P99)
	}
	tw.Flush()
}
