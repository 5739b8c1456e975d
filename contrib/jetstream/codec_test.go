package pooljs_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	pooljs "github.com/poolgen/poolgen/contrib/jetstream"
	"github.com/poolgen/poolgen/contrib/jetstream/internal/testtask"
)

func sampleJob() testtask.Job {
	return testtask.Job{
		ID: "order-1234567", Tenant: "acme", Priority: 3, Amount: 199.95,
		Tags:    []string{"eu", "priority", "retail"},
		Attrs:   map[string]string{"region": "eu-west", "channel": "web"},
		Payload: []byte("0123456789abcdef0123456789abcdef"),
	}
}

// TestCodecsRoundTrip: both codecs give back the task they encoded.
func TestCodecsRoundTrip(t *testing.T) {
	for name, c := range map[string]pooljs.Codec[testtask.Job]{
		"json": pooljs.JSON[testtask.Job](),
		"msgp": pooljs.Msgp[testtask.Job](),
	} {
		want := sampleJob()
		b, err := c.Append([]byte("prefix"), want)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.HasPrefix(string(b), "prefix") {
			t.Fatalf("%s: Append did not append", name)
		}
		var got testtask.Job
		if err := c.Decode(b[len("prefix"):], &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: got %+v, want %+v", name, got, want)
		}
	}
}

// TestCodecsErrors: both codecs reject truncated bodies, bodies with
// trailing data and bodies of another codec, with poolgen-prefixed errors.
func TestCodecsErrors(t *testing.T) {
	j := pooljs.JSON[testtask.Job]()
	m := pooljs.Msgp[testtask.Job]()
	jb, _ := j.Append(nil, sampleJob())
	mb, _ := m.Append(nil, sampleJob())
	for _, c := range []struct {
		name  string
		codec pooljs.Codec[testtask.Job]
		body  []byte
	}{
		{"json truncated", j, jb[:len(jb)-3]},
		{"json trailing", j, append(append([]byte(nil), jb...), jb...)},
		{"json of msgp", j, mb},
		{"msgp truncated", m, mb[:len(mb)-3]},
		{"msgp trailing", m, append(append([]byte(nil), mb...), 0xc0)},
		{"msgp of json", m, jb},
	} {
		var got testtask.Job
		err := c.codec.Decode(c.body, &got)
		if err == nil || !strings.HasPrefix(err.Error(), "poolgen: jetstream: decode: ") {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// Encoding errors.
	if _, err := pooljs.JSON[func()]().Append(nil, func() {}); err == nil || !strings.HasPrefix(err.Error(), "poolgen: ") {
		t.Errorf("json of a func: %v", err)
	}
	if _, err := pooljs.Msgp[failing]().Append(nil, failing{}); err == nil || !strings.HasPrefix(err.Error(), "poolgen: ") {
		t.Errorf("msgp failing: %v", err)
	}
}

// failing is a msgp type whose encoding fails.
type failing struct{}

func (*failing) MarshalMsg(b []byte) ([]byte, error)   { return b, errors.New("no") }
func (*failing) UnmarshalMsg(b []byte) ([]byte, error) { return b, nil }

// TestPublisherDedupes: a task published twice with one ID is stored once;
// a publish without an ID, or of a task the codec cannot encode, fails.
func TestPublisherDedupes(t *testing.T) {
	s := startServer(t)
	_, js := connect(t, s.ClientURL())
	setup(t, js, time.Second, 1)
	h := newHarness(t, nil)
	ctx := context.Background()
	pub := pooljs.NewPublisher(js, subject, pooljs.Msgp[work]())
	a1, err := pub.Publish(ctx, "same", h.job("same"))
	if err != nil {
		t.Fatal(err)
	}
	a2, err := pub.Publish(ctx, "same", h.job("same"))
	if err != nil {
		t.Fatal(err)
	}
	if a1.Duplicate || !a2.Duplicate || a1.Sequence != a2.Sequence {
		t.Fatalf("acks %+v, %+v: want the second a duplicate of the first", a1, a2)
	}
	f, err := pub.PublishAsync("same", h.job("same"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-f.Ok():
		if !a.Duplicate {
			t.Fatal("async publish of the same ID not a duplicate")
		}
	case err := <-f.Err():
		t.Fatal(err)
	case <-time.After(5 * time.Second):
		t.Fatal("no ack")
	}
	if n := streamMsgs(t, js, stream); n != 1 {
		t.Fatalf("stream holds %d messages, want 1", n)
	}
	if _, err := pub.Publish(ctx, "", h.job("x")); err == nil {
		t.Error("publish without an ID")
	}
	if _, err := pub.PublishAsync("", h.job("x")); err == nil {
		t.Error("async publish without an ID")
	}
	bad := pooljs.NewPublisher(js, subject, pooljs.Msgp[failing]())
	if _, err := bad.Publish(ctx, "f", failing{}); err == nil {
		t.Error("publish of an unencodable task")
	}
	nowhere := pooljs.NewPublisher[work](js, "no.stream.here", nil)
	if _, err := nowhere.Publish(ctx, "n", h.job("n")); err == nil || !strings.HasPrefix(err.Error(), "poolgen: ") {
		t.Errorf("publish to a subject without a stream: %v", err)
	}
}

// TestSourceMsgp: a Source decodes msgp bodies with the msgp codec.
func TestSourceMsgp(t *testing.T) {
	s := startServer(t)
	_, js := connect(t, s.ClientURL())
	cons := setup(t, js, 5*time.Second, 1)
	h := newHarness(t, nil)
	pub := pooljs.NewPublisher(js, subject, pooljs.Msgp[work]())
	for _, id := range []string{"m1", "m2"} {
		if _, err := pub.Publish(context.Background(), id, h.job(id)); err != nil {
			t.Fatal(err)
		}
	}
	src := newSource(t, js, cons, newPool(t, 1, 2), func(c *pooljs.Config[work]) { c.Codec = pooljs.Msgp[work]() })
	run(t, src)
	eventually(t, 5*time.Second, "not acked", func() bool { return src.Stats().Acked == 2 })
	if len(h.effects()) != 2 {
		t.Fatalf("effects %v", h.effects())
	}
}

// TestSourceCodecPanic: a codec that panics sends the message to the
// dead letters; the Source goes on.
func TestSourceCodecPanic(t *testing.T) {
	s := startServer(t)
	_, js := connect(t, s.ClientURL())
	cons := setup(t, js, 5*time.Second, 1)
	h := newHarness(t, nil)
	publish(t, js, h, "p-", 2)
	src := newSource(t, js, cons, newPool(t, 1, 2), func(c *pooljs.Config[work]) { c.Codec = panicky{} })
	run(t, src)
	eventually(t, 5*time.Second, "not dead-lettered", func() bool { return src.Stats().DecodeErrors == 2 })
	if m := deadLetters(t, js, 2)[0]; !strings.Contains(m.Headers().Get(pooljs.HeaderError), "panicked") {
		t.Fatalf("headers %v", m.Headers())
	}
}

type panicky struct{}

func (panicky) Append(dst []byte, w work) ([]byte, error) { return dst, nil }
func (panicky) Decode([]byte, *work) error                { panic("codec bug") }

// TestBackoff: the delay doubles from Initial, stays within Max, and is
// jittered between half and all of its nominal value.
func TestBackoff(t *testing.T) {
	b := pooljs.Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	for _, c := range []struct {
		n       uint64
		nominal time.Duration
	}{{0, 100 * time.Millisecond}, {1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {3, 400 * time.Millisecond}, {4, 800 * time.Millisecond}, {5, time.Second}, {40, time.Second}, {1 << 40, time.Second}} {
		lo, hi := c.nominal, time.Duration(0)
		for range 200 {
			d := pooljs.Delay(b, c.n)
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo < c.nominal/2 || hi > c.nominal || hi-lo < c.nominal/4 {
			t.Errorf("delivery %d: delays in [%v, %v], want spread over [%v, %v]", c.n, lo, hi, c.nominal/2, c.nominal)
		}
	}
}
