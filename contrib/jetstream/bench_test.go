package pooljs_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	pooljs "github.com/poolgen/poolgen/contrib/jetstream"
	"github.com/poolgen/poolgen/contrib/jetstream/internal/testtask"
	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// BenchmarkCodec measures encoding and decoding one typical task
// (testtask.Job, about 150 bytes of JSON) with each codec.
func BenchmarkCodec(b *testing.B) {
	job := sampleJob()
	for _, c := range []struct {
		name  string
		codec pooljs.Codec[testtask.Job]
	}{{"json", pooljs.JSON[testtask.Job]()}, {"msgp", pooljs.Msgp[testtask.Job]()}} {
		body, err := c.codec.Append(nil, job)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name+"/encode", func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 512)
			for b.Loop() {
				if _, err := c.codec.Append(buf[:0], job); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(body)), "bytes/msg")
		})
		b.Run(c.name+"/decode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var j testtask.Job
				if err := c.codec.Decode(body, &j); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// noopDone counts the runs of noop tasks.
var noopDone atomic.Int64

// noop is a task that does nothing but count: what it measures is the
// cost of getting a task to Run.
type noop struct {
	N int `json:"n"`
}

func (noop) Run(context.Context) error {
	noopDone.Add(1)
	return nil
}

// benchPool starts the pool each consumer of the benchmark feeds.
func benchPool(b *testing.B) *templates.FixedPool[noop] {
	p, err := templates.NewFixedPool[noop](poolrt.QueueSize(256))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.ShutdownNow() })
	return p
}

// waitNoops waits until n noop tasks ran since base.
func waitNoops(b *testing.B, base, n int64) {
	deadline := time.Now().Add(5 * time.Minute)
	for noopDone.Load()-base < n {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d tasks ran", noopDone.Load()-base, n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// BenchmarkThroughput measures tasks per second from submission to Run:
// through one in-process pool (Submit), and through JetStream (an
// embedded server on loopback, the tasks published beforehand, JSON
// bodies) to 1, 2 and 4 Sources, each on its own connection with its own
// pool, sharing one durable consumer.
func BenchmarkThroughput(b *testing.B) {
	b.Run("inprocess", func(b *testing.B) {
		p := benchPool(b)
		base := noopDone.Load()
		ctx := context.Background()
		b.ResetTimer()
		for i := range b.N {
			if err := p.Submit(ctx, noop{N: i}); err != nil {
				b.Fatal(err)
			}
		}
		waitNoops(b, base, int64(b.N))
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
	})
	for _, consumers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("jetstream/consumers=%d", consumers), func(b *testing.B) {
			s := startServer(b)
			_, js := connect(b, s.ClientURL())
			setup(b, js, 30*time.Second, 1)
			pub := pooljs.NewPublisher[noop](js, subject, nil)
			for i := range b.N {
				if _, err := pub.PublishAsync(fmt.Sprint(i), noop{N: i}); err != nil {
					b.Fatal(err)
				}
				if i%4096 == 4095 {
					<-js.PublishAsyncComplete()
				}
			}
			<-js.PublishAsyncComplete()
			var srcs []*pooljs.Source[noop]
			for range consumers {
				_, jsC := connect(b, s.ClientURL())
				ctx := context.Background()
				cons, err := jsC.Consumer(ctx, stream, durable)
				if err != nil {
					b.Fatal(err)
				}
				src, err := pooljs.NewSource(ctx, jsC, cons, pooljs.Pool[noop](benchPool(b)), pooljs.Config[noop]{DeadLetter: deadLetter})
				if err != nil {
					b.Fatal(err)
				}
				srcs = append(srcs, src)
			}
			base := noopDone.Load()
			b.ResetTimer()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{}, consumers)
			for _, src := range srcs {
				go func() {
					src.Run(ctx)
					done <- struct{}{}
				}()
			}
			waitNoops(b, base, int64(b.N))
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
			cancel()
			for range consumers {
				<-done
			}
			var acked uint64
			for _, src := range srcs {
				acked += src.Stats().Acked
			}
			if acked != uint64(b.N) {
				b.Fatalf("%d acked of %d", acked, b.N)
			}
		})
	}
}
