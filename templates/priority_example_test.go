package templates_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// Alert is a task with a priority: the pool reads it through Priority.
// (With poolgen, tagging the field `poolgen:"priority"` does the same.)
type Alert struct {
	Name  string
	Level int64
	hold  chan struct{} // if set, Run waits for it: keeps the worker busy
}

func (a Alert) Priority() int64 { return a.Level }

func (a Alert) Run(ctx context.Context) error {
	if a.hold != nil {
		<-a.hold
		return nil
	}
	fmt.Println("level", a.Level, a.Name)
	return nil
}

func ExamplePriorityPool() {
	ctx := context.Background()
	p, err := templates.NewPriorityPool[Alert](poolrt.Workers(1),
		poolrt.Aging(time.Minute), // a waiting alert gains a level a minute
		poolrt.Bands(5))           // Stats per band: levels below 5, and 5 and up
	if err != nil {
		panic(err)
	}
	hold := make(chan struct{})
	p.Submit(ctx, Alert{Name: "busy", Level: 9, hold: hold})
	for p.Stats().Busy == 0 { // wait until the only worker runs it
		time.Sleep(time.Millisecond)
	}

	// While the worker is busy, alerts queue up; they run highest level
	// first, in submission order among equal levels.
	p.Submit(ctx, Alert{Name: "disk 80% full", Level: 1})
	p.Submit(ctx, Alert{Name: "disk 95% full", Level: 5})
	p.Submit(ctx, Alert{Name: "cert expires in 30 days", Level: 1})
	p.Submit(ctx, Alert{Name: "database down", Level: 9})
	close(hold)
	if err := p.Shutdown(ctx); err != nil {
		panic(err)
	}
	for _, b := range p.Stats().Priority.Bands {
		fmt.Printf("band [%d, %d]: %d submitted, %d completed\n", max(b.Lo, 0), min(b.Hi, 99), b.Submitted, b.Completed)
	}
	// Output:
	// level 9 database down
	// level 5 disk 95% full
	// level 1 disk 80% full
	// level 1 cert expires in 30 days
	// band [0, 4]: 2 submitted, 2 completed
	// band [5, 99]: 3 submitted, 3 completed
}

// Reply is a task with a deadline, read through Deadline.
type Reply struct {
	To   string
	Due  time.Time
	hold chan struct{}
}

func (r Reply) Deadline() time.Time { return r.Due }

func (r Reply) Run(ctx context.Context) error {
	if r.hold != nil {
		<-r.hold
		return nil
	}
	fmt.Println("reply to", r.To)
	return nil
}

func ExampleDeadlinePool() {
	ctx := context.Background()
	// Late replies are useless: drop them, and hear about it.
	p, err := templates.NewDeadlinePool[Reply](nil, poolrt.Workers(1),
		poolrt.OnLate(poolrt.DropLate),
		poolrt.OnError(func(err error) {
			var de *poolrt.DeadlineError
			if errors.As(err, &de) {
				fmt.Println("dropped: reply to", de.Task.(Reply).To)
			}
		}))
	if err != nil {
		panic(err)
	}
	hold := make(chan struct{})
	p.Submit(ctx, Reply{To: "busy", hold: hold})
	for p.Stats().Busy == 0 {
		time.Sleep(time.Millisecond)
	}

	now := time.Now()
	p.Submit(ctx, Reply{To: "carol", Due: now.Add(3 * time.Hour)})
	p.Submit(ctx, Reply{To: "dave"}) // no deadline: after all that have one
	p.Submit(ctx, Reply{To: "alice", Due: now.Add(time.Hour)})
	p.Submit(ctx, Reply{To: "bob", Due: now.Add(-time.Second)}) // already late
	close(hold)
	if err := p.Shutdown(ctx); err != nil {
		panic(err)
	}
	st := p.Stats()
	fmt.Println("dropped:", st.Priority.Dropped, "failed:", st.Failed)
	// Output:
	// dropped: reply to bob
	// reply to alice
	// reply to carol
	// reply to dave
	// dropped: 1 failed: 1
}

func ExampleNewDeadlinePool_handler() {
	ctx := context.Background()
	// A handler takes late tasks, typed, instead of their Run: here, to
	// answer that it is too late.
	tooLate := func(r Reply) { fmt.Println("sorry,", r.To, "- too late") }
	p, err := templates.NewDeadlinePool(tooLate, poolrt.Workers(1))
	if err != nil {
		panic(err)
	}
	p.Submit(ctx, Reply{To: "erin", Due: time.Now().Add(-time.Minute)})
	p.Submit(ctx, Reply{To: "frank", Due: time.Now().Add(time.Minute)})
	if err := p.Shutdown(ctx); err != nil {
		panic(err)
	}
	fmt.Println("handed off:", p.Stats().Priority.HandedOff)
	// Output:
	// sorry, erin - too late
	// reply to frank
	// handed off: 1
}

// Encode is a task with a cost: an estimate of its run time, read through
// Cost.
type Encode struct {
	File    string
	Seconds int64
	hold    chan struct{}
}

func (e Encode) Cost() int64 { return e.Seconds }

func (e Encode) Run(ctx context.Context) error {
	if e.hold != nil {
		<-e.hold
		return nil
	}
	fmt.Println("encode", e.File)
	return nil
}

func ExampleCostPool() {
	ctx := context.Background()
	// Shortest job first; aging lets a long job overtake the short ones
	// that arrive after it has waited cost×10ms.
	p, err := templates.NewCostPool[Encode](poolrt.Workers(1), poolrt.Aging(10*time.Millisecond))
	if err != nil {
		panic(err)
	}
	hold := make(chan struct{})
	p.Submit(ctx, Encode{File: "busy", hold: hold})
	for p.Stats().Busy == 0 {
		time.Sleep(time.Millisecond)
	}

	p.Submit(ctx, Encode{File: "movie.mkv", Seconds: 3600})
	p.Submit(ctx, Encode{File: "clip.mp4", Seconds: 30})
	p.Submit(ctx, Encode{File: "intro.mp4", Seconds: 5})
	close(hold)
	if err := p.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// encode intro.mp4
	// encode clip.mp4
	// encode movie.mkv
}
