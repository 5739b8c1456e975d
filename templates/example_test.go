package templates_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// Resize is a task: any type with a Run(context.Context) error method.
type Resize struct {
	Src           string
	Width, Height int
}

var resized atomic.Int64

func (r Resize) Run(ctx context.Context) error {
	if r.Src == "" {
		return errors.New("resize: empty source")
	}
	resized.Add(int64(r.Width * r.Height))
	return nil
}

func ExampleFixedPool() {
	ctx := context.Background()
	p, err := templates.NewFixedPool[Resize](poolrt.Workers(4), poolrt.QueueSize(64))
	if err != nil {
		panic(err)
	}
	for i := range 100 {
		// Submit waits while the queue is full.
		if err := p.Submit(ctx, Resize{Src: fmt.Sprint(i, ".png"), Width: 2, Height: 3}); err != nil {
			panic(err)
		}
	}
	p.Submit(ctx, Resize{}) // fails when it runs: counted in Stats.Failed

	// Shutdown runs everything accepted, then stops the workers.
	if err := p.Shutdown(ctx); err != nil {
		panic(err)
	}
	st := p.Stats()
	fmt.Println("pixels:", resized.Load())
	fmt.Println("submitted:", st.Submitted, "completed:", st.Completed, "failed:", st.Failed)
	fmt.Println("after shutdown:", p.Submit(ctx, Resize{Src: "late.png"}))
	// Output:
	// pixels: 600
	// submitted: 101 completed: 101 failed: 1
	// after shutdown: poolgen: pool closed
}

// Blocker says it started, then runs until its pool is stopped.
type Blocker struct{ started chan<- struct{} }

func (b Blocker) Run(ctx context.Context) error {
	b.started <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

func ExampleFixedPool_ShutdownNow() {
	p, err := templates.NewFixedPool[Blocker](poolrt.Workers(1), poolrt.QueueSize(4))
	if err != nil {
		panic(err)
	}
	started := make(chan struct{}, 1)
	p.Submit(context.Background(), Blocker{started})
	<-started // the only worker is now busy

	// TrySubmit never blocks: it reports a full queue instead.
	accepted := 0
	for p.TrySubmit(Blocker{started}) == nil {
		accepted++
	}
	fmt.Println("accepted while busy:", accepted)

	// ShutdownNow cancels the running task's context and hands back every
	// accepted task that never started.
	fmt.Println("never started:", len(p.ShutdownNow()))
	// Output:
	// accepted while busy: 4
	// never started: 4
}

func ExampleNewFixedPool_badOption() {
	_, err := templates.NewFixedPool[Resize](poolrt.Workers(0))
	var cfg *poolrt.ConfigError
	fmt.Println(errors.As(err, &cfg), err)
	// Output:
	// true poolgen: invalid option Workers(0): a pool needs at least 1 worker
}

// Lookup is a request's task: its caller waits for the outcome.
type Lookup struct{ Key string }

var errNotFound = errors.New("lookup: not found")

func (l Lookup) Run(ctx context.Context) error {
	if l.Key != "gopher" {
		return errNotFound
	}
	return nil
}

// SubmitWait is for request/response use: it queues the task and returns
// how it ended, allocating nothing once warm. A task's error goes to the
// caller that waits for it (not to poolrt.OnError); a context that ends
// first returns its error while the task still runs.
func ExampleFixedPool_SubmitWait() {
	p, err := templates.NewFixedPool[Lookup](poolrt.Workers(2))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	fmt.Println(p.SubmitWait(ctx, Lookup{Key: "gopher"}))
	fmt.Println(errors.Is(p.SubmitWait(ctx, Lookup{Key: "ferris"}), errNotFound))

	fmt.Println("closed:", p.Closed())
	p.Shutdown(ctx)
	fmt.Println("closed:", p.Closed(), "-", p.SubmitWait(ctx, Lookup{Key: "gopher"}))
	// Output:
	// <nil>
	// true
	// closed: false
	// closed: true - poolgen: pool closed
}

// Reminder is a background job: it records whom it reminded.
type Reminder struct {
	User string
	Sent chan<- string
}

func (r Reminder) Run(ctx context.Context) error {
	r.Sent <- r.User
	return nil
}

func ExampleFixedPool_SubmitAfter() {
	p, err := templates.NewFixedPool[Reminder](poolrt.Workers(1))
	if err != nil {
		panic(err)
	}
	sent := make(chan string, 3)
	// Scheduled out of order, submitted in the order of their times.
	p.SubmitAfter(30*time.Millisecond, Reminder{User: "carol", Sent: sent})
	p.SubmitAfter(10*time.Millisecond, Reminder{User: "alice", Sent: sent})
	p.SubmitAt(time.Now().Add(20*time.Millisecond), Reminder{User: "bob", Sent: sent})
	// Far in the future: ShutdownNow hands it back.
	p.SubmitAfter(time.Hour, Reminder{User: "dave", Sent: sent})
	fmt.Println(<-sent, <-sent, <-sent)
	for _, r := range p.ShutdownNow() {
		fmt.Println("returned:", r.User)
	}
	sc := p.Stats().Scheduled
	fmt.Println("scheduled:", sc.Scheduled, "fired:", sc.Fired, "returned:", sc.Returned)
	// Output:
	// alice bob carol
	// returned: dave
	// scheduled: 4 fired: 3 returned: 1
}
