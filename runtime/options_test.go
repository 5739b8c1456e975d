package poolrt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

var patterns = []config.Pattern{config.Fixed, config.Dynamic, config.Stealing, config.Priority, config.Batch}

// withGOMAXPROCS runs the rest of the test with GOMAXPROCS set to n.
// Tests that use it must not be parallel.
func withGOMAXPROCS(t *testing.T, n int) {
	t.Helper()
	old := runtime.GOMAXPROCS(n)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
}

func TestResolveDefaults(t *testing.T) {
	for _, procs := range []int{1, 2, 3, 8} {
		t.Run(fmt.Sprint("procs=", procs), func(t *testing.T) {
			withGOMAXPROCS(t, procs)
			wantQueue := max(1024, 256*procs)
			for _, p := range patterns {
				s, err := config.Resolve(p, nil)
				if err != nil {
					t.Fatalf("Resolve(%v, nil): %v", p, err)
				}
				if s.Workers != procs || s.QueueSize != wantQueue || s.Shards != procs {
					t.Errorf("Resolve(%v, nil): Workers, QueueSize, Shards = %d, %d, %d; want %d, %d, %d",
						p, s.Workers, s.QueueSize, s.Shards, procs, wantQueue, procs)
				}
				if !s.Metrics || s.SampleEvery != 16 || s.Backpressure != Block ||
					s.OnPanic != nil || s.OnError != nil {
					t.Errorf("Resolve(%v, nil) = %+v: want metrics on, sampling %d, Block, no handlers", p, s, 16)
				}
			}
		})
	}
}

func TestResolveQueueAndShards(t *testing.T) {
	withGOMAXPROCS(t, 4)
	tests := []struct {
		opts                   []Option
		workers, queue, shards int
	}{
		{[]Option{Workers(1)}, 1, 1024, 1},
		{[]Option{Workers(2)}, 2, 1024, 2},
		{[]Option{Workers(4)}, 4, 1024, 4},
		{[]Option{Workers(5)}, 5, 1280, 4}, // shards capped by GOMAXPROCS
		{[]Option{Workers(64)}, 64, 64 * 256, 4},
		{[]Option{Workers(8), QueueSize(3)}, 8, 3, 3}, // shards capped by the queue size
		{[]Option{QueueSize(1)}, 4, 1, 1},
		{[]Option{QueueSize(10), Workers(2)}, 2, 10, 2},
		{[]Option{Workers(3), Workers(6)}, 6, 1536, 4}, // the last one wins
	}
	for _, tt := range tests {
		s, err := config.Resolve(config.Fixed, tt.opts)
		if err != nil {
			t.Fatalf("Resolve(%v): %v", tt.opts, err)
		}
		if s.Workers != tt.workers || s.QueueSize != tt.queue || s.Shards != tt.shards {
			t.Errorf("Resolve(%v): Workers, QueueSize, Shards = %d, %d, %d; want %d, %d, %d",
				tt.opts, s.Workers, s.QueueSize, s.Shards, tt.workers, tt.queue, tt.shards)
		}
	}
}

func TestResolveOptions(t *testing.T) {
	var gotPanic *PanicError
	var gotErr error
	s, err := config.Resolve(config.Priority, []Option{
		OnFull(CallerRuns), OnFull(Reject),
		Metrics(false),
		LatencySampling(1),
		OnPanic(func(pe *PanicError) { gotPanic = pe }),
		OnError(func(err error) { gotErr = err }),
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Backpressure != Reject || s.Metrics || s.SampleEvery != 1 || s.OnPanic == nil || s.OnError == nil {
		t.Fatalf("Resolve = %+v", s)
	}
	s.OnPanic("task", 1, []byte("stack"))
	s.OnError(io.EOF)
	if gotPanic == nil || gotPanic.Value != 1 || gotPanic.Task != "task" || string(gotPanic.Stack) != "stack" || gotErr != io.EOF {
		t.Fatal("Resolve did not keep the handlers given")
	}
	s, err = config.Resolve(config.Batch, []Option{Metrics(false), Metrics(true), LatencySampling(100)})
	if err != nil || !s.Metrics || s.SampleEvery != 100 {
		t.Fatalf("Resolve(Metrics(false), Metrics(true), LatencySampling(100)) = %+v, %v", s, err)
	}
}

func TestResolveInvalid(t *testing.T) {
	tests := []struct {
		p      config.Pattern
		opts   []Option
		option string // ConfigError.Option
		reason string // in ConfigError.Reason
	}{
		{config.Fixed, []Option{Workers(0)}, "Workers(0)", "at least 1 worker"},
		{config.Stealing, []Option{Workers(-3)}, "Workers(-3)", "at least 1 worker"},
		{config.Fixed, []Option{QueueSize(0)}, "QueueSize(0)", "at least 1 task"},
		{config.Dynamic, []Option{QueueSize(-1)}, "QueueSize(-1)", "at least 1 task"},
		{config.Fixed, []Option{OnFull(Backpressure(3))}, "OnFull(Backpressure(3))", "Block, Reject or CallerRuns"},
		{config.Fixed, []Option{OnFull(Backpressure(255))}, "OnFull(Backpressure(255))", "Block, Reject or CallerRuns"},
		{config.Batch, []Option{OnPanic(nil)}, "OnPanic(...)", "nil"},
		{config.Priority, []Option{OnError(nil)}, "OnError(...)", "nil"},
		{config.Fixed, []Option{LatencySampling(0)}, "LatencySampling(0)", "Metrics(false)"},
		{config.Fixed, []Option{LatencySampling(-2)}, "LatencySampling(-2)", "at least every task"},
		{config.Dynamic, []Option{Workers(4)}, "Workers(4)", "does not apply to the dynamic pool"},
		{config.Fixed, []Option{{}}, "Option{}", "zero Option"},
		// The bad option is found wherever it is in the list.
		{config.Fixed, []Option{Workers(2), QueueSize(8), Metrics(true), QueueSize(0), Workers(1)}, "QueueSize(0)", "at least 1 task"},
		{config.Fixed, []Option{Workers(2), {}}, "Option{}", "zero Option"},
		{config.Pattern(0), []Option{Metrics(true)}, "Metrics(true)", "does not apply to the Pattern(0) pool"},
	}
	for _, tt := range tests {
		s, err := config.Resolve(tt.p, tt.opts)
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("Resolve(%v, %v) error = %v (%T), want a *ConfigError", tt.p, tt.opts, err, err)
			continue
		}
		if ce.Option != tt.option || !strings.Contains(ce.Reason, tt.reason) {
			t.Errorf("Resolve(%v, %v) = ConfigError{%q, %q}, want option %q, reason containing %q",
				tt.p, tt.opts, ce.Option, ce.Reason, tt.option, tt.reason)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "poolgen: ") || !strings.Contains(msg, tt.option) || !strings.Contains(msg, ce.Reason) {
			t.Errorf("error message %q: want the %q prefix, the option %q and the reason", msg, "poolgen: ", tt.option)
		}
		if s.Workers != 0 || s.QueueSize != 0 || s.Shards != 0 || s.Metrics || s.SampleEvery != 0 {
			t.Errorf("Resolve(%v, %v) returned settings %+v with its error, want zero config.Settings", tt.p, tt.opts, s)
		}
	}
}

// TestOptionPatterns checks which patterns each option applies to: an
// option is accepted for those and refused, with a *ConfigError naming the
// pattern, for the others.
func TestOptionPatterns(t *testing.T) {
	tests := []struct {
		opt     Option
		applies config.Pattern
	}{
		{Workers(2), config.Fixed | config.Stealing | config.Priority | config.Batch}, // the dynamic pool sizes itself
		{QueueSize(8), config.AllPatterns},
		{OnFull(Reject), config.AllPatterns},
		{OnPanic(func(*PanicError) {}), config.AllPatterns},
		{OnError(func(error) {}), config.AllPatterns},
		{Metrics(false), config.AllPatterns},
		{LatencySampling(2), config.AllPatterns},
	}
	for _, tt := range tests {
		for _, p := range patterns {
			_, err := config.Resolve(p, []Option{tt.opt})
			if tt.applies&p != 0 {
				if err != nil {
					t.Errorf("Resolve(%v, %v): %v, want it accepted", p, tt.opt, err)
				}
				continue
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Option != tt.opt.String() || !strings.Contains(ce.Reason, p.String()) {
				t.Errorf("Resolve(%v, %v) = %v, want a *ConfigError refusing it for the %v pool", p, tt.opt, err, p)
			}
		}
	}
}

func TestOptionString(t *testing.T) {
	tests := []struct {
		opt  Option
		want string
	}{
		{Workers(4), "Workers(4)"},
		{Workers(-1), "Workers(-1)"},
		{QueueSize(4096), "QueueSize(4096)"},
		{OnFull(Block), "OnFull(Block)"},
		{OnFull(Reject), "OnFull(Reject)"},
		{OnFull(CallerRuns), "OnFull(CallerRuns)"},
		{OnPanic(nil), "OnPanic(...)"},
		{OnError(nil), "OnError(...)"},
		{Metrics(true), "Metrics(true)"},
		{Metrics(false), "Metrics(false)"},
		{LatencySampling(16), "LatencySampling(16)"},
		{Option{}, ""},
	}
	for _, tt := range tests {
		if got := tt.opt.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
		if got := fmt.Sprint(tt.opt); got != tt.want {
			t.Errorf("fmt.Sprint = %q, want %q (Option must be a fmt.Stringer)", got, tt.want)
		}
	}
}

func TestPatternString(t *testing.T) {
	tests := []struct {
		p    config.Pattern
		want string
	}{
		{config.Fixed, "fixed"},
		{config.Dynamic, "dynamic"},
		{config.Stealing, "stealing"},
		{config.Priority, "priority"},
		{config.Batch, "batch"},
		{config.Fair, "fair"},
		{config.Fixed | config.Batch, "fixed|batch"},
		{config.AllPatterns, "fixed|dynamic|stealing|priority|batch|fair"},
		{0, "Pattern(0)"},
		{1 << 6, "Pattern(64)"},
		{1 << 7, "Pattern(128)"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("Pattern(%d).String() = %q, want %q", uint8(tt.p), got, tt.want)
		}
	}
}

func TestBackpressureString(t *testing.T) {
	tests := []struct {
		b    Backpressure
		want string
	}{
		{Block, "Block"},
		{Reject, "Reject"},
		{CallerRuns, "CallerRuns"},
		{3, "Backpressure(3)"},
		{255, "Backpressure(255)"},
	}
	for _, tt := range tests {
		if got := tt.b.String(); got != tt.want {
			t.Errorf("Backpressure(%d).String() = %q, want %q", uint8(tt.b), got, tt.want)
		}
	}
	if Block != 0 {
		t.Error("Block must be the zero value: it is the default")
	}
}

func TestErrors(t *testing.T) {
	for _, err := range []error{ErrClosed, ErrQueueFull} {
		if !strings.HasPrefix(err.Error(), "poolgen: ") {
			t.Errorf("%q lacks the %q prefix", err, "poolgen: ")
		}
	}
	if errors.Is(ErrClosed, ErrQueueFull) || errors.Is(ErrQueueFull, ErrClosed) {
		t.Error("ErrClosed and ErrQueueFull must be distinct")
	}
	ce := &ConfigError{Option: "Workers(0)", Reason: "no"}
	if got, want := ce.Error(), "poolgen: invalid option Workers(0): no"; got != want {
		t.Errorf("ConfigError.Error() = %q, want %q", got, want)
	}
}

type panicTask struct{ id int }

type myErr struct{ code int }

func (e *myErr) Error() string { return fmt.Sprint("my error ", e.code) }

// panicAndReport panics with v in a frame named panickingTaskRun and
// reports the recovered value as a pool's deferred handler does.
func panicAndReport(s *config.Settings, task any, v any) {
	defer func() { s.TaskPanicked(task, recover()) }()
	panickingTaskRun(v)
}

func panickingTaskRun(v any) { panic(v) }

// captureLog sends the standard logger's output to a buffer for the rest
// of the test.
func captureLog(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	w, flags := log.Writer(), log.Flags()
	log.SetOutput(&buf)
	log.SetFlags(0)
	t.Cleanup(func() {
		log.SetOutput(w)
		log.SetFlags(flags)
	})
	return &buf
}

func TestTaskPanickedHandler(t *testing.T) {
	logged := captureLog(t)
	var got []*PanicError
	s, err := config.Resolve(config.Fixed, []Option{OnPanic(func(pe *PanicError) { got = append(got, pe) })})
	if err != nil {
		t.Fatal(err)
	}
	task := panicTask{id: 7}
	panicAndReport(&s, task, "boom")
	if len(got) != 1 {
		t.Fatalf("OnPanic called %d times, want 1", len(got))
	}
	pe := got[0]
	if pe.Task != task || pe.Value != "boom" {
		t.Errorf("PanicError{Task: %v, Value: %v}, want %v and %q", pe.Task, pe.Value, task, "boom")
	}
	if got, want := pe.Error(), "poolgen: task panicked: boom"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if st := string(pe.Stack); !strings.Contains(st, "panickingTaskRun") || !strings.Contains(st, "goroutine ") {
		t.Errorf("Stack does not show the panicking goroutine's frames:\n%s", st)
	}
	if pe.Unwrap() != nil {
		t.Errorf("Unwrap() = %v for a non-error panic value, want nil", pe.Unwrap())
	}
	if logged.Len() != 0 {
		t.Errorf("with an OnPanic handler nothing must be logged; got %q", logged)
	}
}

func TestTaskPanickedLogs(t *testing.T) {
	logged := captureLog(t)
	s, err := config.Resolve(config.Fixed, nil)
	if err != nil {
		t.Fatal(err)
	}
	panicAndReport(&s, panicTask{1}, "kaboom")
	out := logged.String()
	if !strings.Contains(out, "ERROR poolgen: task panicked pattern=fixed task_type=poolrt.panicTask panic=kaboom") {
		t.Errorf("log output %q: want a structured error record with the panic value and the task's type", out)
	}
	if !strings.Contains(out, "goroutine ") || !strings.Contains(out, "panickingTaskRun") {
		t.Errorf("log output lacks the panicking goroutine's stack:\n%s", out)
	}
	logged.Reset()
	s, err = config.Resolve(config.Fixed, []Option{Name("thumbs")})
	if err != nil {
		t.Fatal(err)
	}
	panicAndReport(&s, panicTask{1}, "kaboom")
	if out := logged.String(); !strings.Contains(out, "ERROR poolgen: task panicked pool=thumbs pattern=fixed task_type=poolrt.panicTask panic=kaboom") {
		t.Errorf("log output %q: want the pool's name first", out)
	}
}

func TestTaskPanickedGoexit(t *testing.T) {
	var got *PanicError
	s, err := config.Resolve(config.Fixed, []Option{OnPanic(func(pe *PanicError) { got = pe })})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { s.TaskPanicked(panicTask{2}, recover()) }() // recover() is nil: Goexit
		runtime.Goexit()
	}()
	<-done
	if got == nil {
		t.Fatal("OnPanic not called for runtime.Goexit")
	}
	if got.Value == nil || got.Value != ErrGoexit || !errors.Is(got, ErrGoexit) {
		t.Errorf("Goexit reported as Value %v (%T), want ErrGoexit", got.Value, got.Value)
	}
	if !strings.Contains(got.Error(), "runtime.Goexit") {
		t.Errorf("Error() = %q, want it to mention runtime.Goexit", got.Error())
	}

	// panic(nil) is not Goexit: since Go 1.21 it panics with a
	// *runtime.PanicNilError, which must be reported as is.
	got = nil
	panicAndReport(&s, panicTask{3}, nil)
	var pne *runtime.PanicNilError
	if got == nil || !errors.As(got, &pne) || errors.Is(got, ErrGoexit) {
		t.Errorf("panic(nil) reported as %#v, want a *runtime.PanicNilError value", got)
	}
}

func TestPanicErrorUnwrap(t *testing.T) {
	var got *PanicError
	s, _ := config.Resolve(config.Fixed, []Option{OnPanic(func(pe *PanicError) { got = pe })})

	panicAndReport(&s, nil, io.ErrUnexpectedEOF)
	if !errors.Is(got, io.ErrUnexpectedEOF) || got.Unwrap() != io.ErrUnexpectedEOF {
		t.Errorf("panic(io.ErrUnexpectedEOF): errors.Is does not see through the PanicError")
	}

	panicAndReport(&s, nil, fmt.Errorf("wrapped: %w", &myErr{42}))
	var me *myErr
	if !errors.As(got, &me) || me.code != 42 {
		t.Errorf("panic(wrapped *myErr): errors.As does not find it")
	}

	panicAndReport(&s, nil, 42)
	if got.Unwrap() != nil || errors.Is(got, io.EOF) {
		t.Errorf("panic(42): Unwrap() = %v, want nil", got.Unwrap())
	}
	var pe *PanicError
	if !errors.As(error(got), &pe) || pe != got {
		t.Error("errors.As(*PanicError) failed")
	}
}

func TestTaskFailed(t *testing.T) {
	logged := captureLog(t)
	s, _ := config.Resolve(config.Fixed, nil)
	s.TaskFailed(reflect.TypeFor[panicTask](), io.EOF) // no handler: logged
	if out := logged.String(); !strings.Contains(out, "WARN poolgen: task failed pattern=fixed task_type=poolrt.panicTask error=EOF") {
		t.Errorf("log output %q: want a structured warning with the task's type and the error", out)
	}
	logged.Reset()
	s.TaskFailed(reflect.TypeFor[*panicTask](), io.EOF)
	if out := logged.String(); !strings.Contains(out, "task_type=*poolrt.panicTask ") {
		t.Errorf("log output %q: want the pointer type as %%T prints it", out)
	}

	var got []error
	logged.Reset()
	s, _ = config.Resolve(config.Fixed, []Option{OnError(func(err error) { got = append(got, err) })})
	s.TaskFailed(reflect.TypeFor[panicTask](), io.EOF)
	s.TaskFailed(reflect.TypeFor[panicTask](), io.ErrClosedPipe)
	if len(got) != 2 || got[0] != io.EOF || got[1] != io.ErrClosedPipe {
		t.Fatalf("OnError saw %v, want [EOF, closed pipe]", got)
	}
	if logged.Len() != 0 {
		t.Errorf("with an OnError handler nothing must be logged; got %q", logged)
	}
}

func TestName(t *testing.T) {
	s, err := config.Resolve(config.Batch, []Option{Name("ingest/orders 2")})
	if err != nil || s.Name != "ingest/orders 2" {
		t.Fatalf("Resolve(Name) = %q, %v", s.Name, err)
	}
	for _, bad := range []string{"", " x", "x ", "a\nb", "\xff", strings.Repeat("n", 129)} {
		_, err := config.Resolve(config.Fixed, []Option{Name(bad)})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != fmt.Sprintf("Name(%q)", bad) {
			t.Errorf("Name(%q): %v, want a ConfigError naming the option", bad, err)
		}
	}
}

// TestLogLimit: without handlers, failures and panics are logged, at most
// 10 records a second per pool; the next record written says how many
// were dropped.
func TestLogLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logged := captureLog(t)
		s, err := config.Resolve(config.Dynamic, []Option{Name("ingest")})
		if err != nil {
			t.Fatal(err)
		}
		for range 25 {
			s.TaskFailed(reflect.TypeFor[panicTask](), io.EOF)
		}
		lines := strings.Split(strings.TrimSpace(logged.String()), "\n")
		if len(lines) != 10 || lines[0] != "WARN poolgen: task failed pool=ingest pattern=dynamic task_type=poolrt.panicTask error=EOF" {
			t.Fatalf("25 failures in a second logged %d lines, want 10:\n%s", len(lines), logged)
		}
		logged.Reset()
		time.Sleep(time.Second)
		s.TaskFailed(reflect.TypeFor[panicTask](), io.ErrUnexpectedEOF)
		if got, want := strings.TrimSpace(logged.String()), "WARN poolgen: task failed pool=ingest pattern=dynamic task_type=poolrt.panicTask error=\"unexpected EOF\" suppressed=15"; got != want {
			t.Errorf("next second: %q, want %q", got, want)
		}
	})
}
