package templates_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// Row is written to a table in batches, one table per batch.
type Row struct {
	Table string
	ID    int
}

// BatchKey groups rows by table.
func (r Row) BatchKey() string { return r.Table }

func ExampleBatchPool() {
	var mu sync.Mutex
	var log []string
	insert := func(ctx context.Context, rows []Row) error {
		// One INSERT per batch. rows is reused by the pool after this
		// returns: keep copies of what you need, not the slice.
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = fmt.Sprint(r.ID)
		}
		mu.Lock()
		log = append(log, fmt.Sprintf("INSERT INTO %s %s", rows[0].Table, strings.Join(ids, ",")))
		mu.Unlock()
		return nil
	}
	p, err := templates.NewBatchPool[Row, string](insert, poolrt.MaxBatch(3), poolrt.Linger(time.Second))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for i := range 7 {
		table := "users"
		if i%2 == 1 {
			table = "events"
		}
		p.Submit(ctx, Row{Table: table, ID: i})
	}
	// Full batches went at once; Shutdown flushes the rest, however small.
	if err := p.Shutdown(ctx); err != nil {
		panic(err)
	}
	sort.Strings(log)
	for _, l := range log {
		fmt.Println(l)
	}
	st := p.Stats().Batch
	fmt.Println("batches:", st.Batches, "full:", st.Full, "at shutdown:", st.Shutdown)
	// Output:
	// INSERT INTO events 1,3,5
	// INSERT INTO users 0,2,4
	// INSERT INTO users 6
	// batches: 3 full: 2 at shutdown: 1
}
