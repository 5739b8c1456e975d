package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
)

// The load of TestEndToEnd.
const (
	loadRequests = 400 // requests of the steady load
	burst        = 40  // requests sent at once to fill the request pool
	loadJobs     = 300
	accounts     = 5
	clients      = 8 // concurrent clients of each kind
)

// TestEndToEnd runs the service as its users do: it builds the binary,
// starts it against an embedded NATS server with JetStream (file storage)
// and a new SQLite file, and drives it with clients that send requests
// and jobs with unique IDs, retrying with the same ID whatever was not
// accepted (503, a refused or broken connection). A quarter of the way
// through the requests it sends SIGTERM while a slow request is in
// flight, checks that the request is answered on its first try and that
// the service exits with status 0, and starts it again on the same
// address while the clients go on; halfway, it kills it (SIGKILL),
// cutting off what was in flight, and starts it again. A burst beyond the request pool's capacity
// gets 503s with Retry-After. Once every job has left the stream, it
// stops the service with SIGTERM (status 0 again) and reads the database:
// every request answered 200 has its event, with the result it was
// answered; every job the stream acknowledged has its effect (and its
// credit in the balances) and its event exactly once; no other row
// exists; and the stream and its dead letters are empty. Every try of the
// clients is accounted for: accepted, answered 503, or a connection
// error.
func TestEndToEnd(t *testing.T) {
	// Registered first, so that it runs last, after the other cleanups.
	t.Cleanup(func() { goleak.VerifyNone(t) })
	dir := t.TempDir()
	ns := startNATS(t, filepath.Join(dir, "jetstream"))
	bin := buildService(t, dir)
	dbPath := filepath.Join(dir, "jobsvc.db")
	args := func(addr string) []string {
		return []string{"-addr", addr, "-nats", ns.ClientURL(), "-db", dbPath,
			"-workers", "2", "-queue", "8", "-job-workers", "4", "-ackwait", "2s",
			"-linger", "2ms", "-shutdown-timeout", "10s"}
	}
	first := startService(t, bin, args("127.0.0.1:0"))
	addr := first.addr
	base := "http://" + addr

	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	c := newClient(base)
	defer c.hc.CloseIdleConnections()

	// The load: requests and jobs, fed to the clients in order. Those
	// from three eighths on wait for the restart after SIGTERM, those
	// from three quarters on for the restart after the crash, so that
	// there is load on both sides of each.
	restarted, recovered := make(chan struct{}), make(chan struct{})
	var (
		mu      sync.Mutex
		results = make(map[string]string) // accepted requests: ID → result
		jobs    = make(map[string]jobBody)
	)
	var reqDone, jobDone atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 2*clients+1)
	feed := func(n int) <-chan int {
		ch := make(chan int)
		go func() {
			defer close(ch)
			for i := range n {
				var gate <-chan struct{}
				switch i {
				case n * 3 / 8:
					gate = restarted
				case n * 3 / 4:
					gate = recovered
				}
				if gate != nil {
					select {
					case <-gate:
					case <-ctx.Done():
						return
					}
				}
				select {
				case ch <- i:
				case <-ctx.Done():
					return
				}
			}
		}()
		return ch
	}
	reqIDs, jobIDs := feed(loadRequests), feed(loadJobs)
	// On a failure, the clients and feeders stop before the leak check.
	defer func() {
		cancel()
		wg.Wait()
	}()
	for range clients {
		wg.Go(func() {
			for i := range reqIDs {
				b := requestBody{ID: fmt.Sprintf("req-%04d", i), Input: fmt.Sprint("input ", i),
					Rounds: 50 + i%50, SleepMS: 1 + i%3, Class: []string{"interactive", "bulk"}[i%2]}
				if err := c.request(ctx, b, true, &mu, results); err != nil {
					errs <- err
					return
				}
				reqDone.Add(1)
			}
		})
		wg.Go(func() {
			for i := range jobIDs {
				b := jobBody{ID: fmt.Sprintf("job-%04d", i), Account: fmt.Sprint("acct-", i%accounts),
					Amount: int64(i + 1), SleepMS: i % 5}
				if err := c.job(ctx, b); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				jobs[b.ID] = b
				mu.Unlock()
				jobDone.Add(1)
			}
		})
	}

	// A quarter of the way through the requests, SIGTERM: the service
	// drains and exits with status 0, and starts again on its address.
	waitFor := func(n int64) int64 {
		for reqDone.Load() < n && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		return reqDone.Load()
	}
	// A request in flight then is answered, on its first try.
	at := waitFor(loadRequests / 4)
	inflight := make(chan error, 1)
	go func() {
		b := requestBody{ID: "in-flight", Class: "interactive", Input: "in flight", SleepMS: 800}
		inflight <- c.request(ctx, b, false, &mu, results)
	}()
	time.Sleep(300 * time.Millisecond) // it has reached the pool
	if exit := first.stop(t, syscall.SIGTERM); exit != 0 {
		t.Errorf("the service exited with status %d after SIGTERM; its log:\n%s", exit, first.log())
	}
	if err := <-inflight; err != nil {
		t.Errorf("a request in flight at SIGTERM: %v", err)
	}
	second := startService(t, bin, args(addr))
	close(restarted)
	t.Logf("SIGTERM after %d of %d requests and %d of %d jobs; restarted on %s", at, loadRequests, jobDone.Load(), loadJobs, addr)

	// Halfway, a crash: SIGKILL, so that requests, publishes and jobs in
	// flight are cut off and jobs are left unacknowledged. The clients
	// retry; the stream delivers those jobs again after the ack wait.
	at = waitFor(loadRequests / 2)
	if exit := second.stop(t, syscall.SIGKILL); exit != -1 {
		t.Errorf("SIGKILL: exit status %d, want -1 (killed)", exit)
	}
	third := startService(t, bin, args(addr))
	close(recovered)
	t.Logf("SIGKILL after %d of %d requests and %d of %d jobs; restarted", at, loadRequests, jobDone.Load(), loadJobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := c.busy.Load(); n != 0 {
		t.Errorf("the steady load (%d clients) got %d 503s from a pool of 2 workers and 8 slots", clients, n)
	}

	// The burst: more requests at once than the pool holds, each for
	// 300ms. Those refused are retried until accepted.
	var burstWG sync.WaitGroup
	burstErrs := make(chan error, burst)
	for i := range burst {
		burstWG.Go(func() {
			b := requestBody{ID: fmt.Sprintf("burst-%02d", i), Class: "bulk", Input: "burst", SleepMS: 300}
			if err := c.request(ctx, b, true, &mu, results); err != nil {
				burstErrs <- err
			}
		})
	}
	burstWG.Wait()
	close(burstErrs)
	for err := range burstErrs {
		t.Fatal(err)
	}
	if c.busy.Load() < burst-10 {
		t.Errorf("a burst of %d requests at a pool of 2 workers and 8 slots got %d 503s, want at least %d", burst, c.busy.Load(), burst-10)
	}
	if n := c.noRetryAfter.Load(); n != 0 {
		t.Errorf("%d 503s without Retry-After: %s", n, retryAfter)
	}

	// Every job is run and acknowledged: the stream empties.
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	waitEmpty(ctx, t, js)
	checkObservability(t, c, base)
	checkBadInput(t, c, base)

	if exit := third.stop(t, syscall.SIGTERM); exit != 0 {
		t.Errorf("the service exited with status %d after SIGTERM; its log:\n%s", exit, third.log())
	}
	if info, err := js.Stream(ctx, deadStream); err != nil {
		t.Error(err)
	} else if n := info.CachedInfo().State.Msgs; n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}

	t.Logf("requests and jobs: %d tries: %d accepted, %d answered 503, %d connection errors",
		c.tries.Load(), c.accepted.Load(), c.busy.Load(), c.connErrors.Load())
	if got := c.accepted.Load() + c.busy.Load() + c.connErrors.Load(); got != c.tries.Load() {
		t.Errorf("%d tries, but %d accepted + %d refused + %d connection errors = %d", c.tries.Load(),
			c.accepted.Load(), c.busy.Load(), c.connErrors.Load(), got)
	}
	if len(results) != loadRequests+burst+1 {
		t.Errorf("%d requests accepted, want all %d", len(results), loadRequests+burst+1)
	}
	if len(jobs) != loadJobs {
		t.Errorf("%d jobs accepted, want all %d", len(jobs), loadJobs)
	}
	checkDatabase(t, dbPath, results, jobs)
}

// checkDatabase checks that the database holds exactly one event per
// accepted request, with its answer, and per accepted job, and each job's
// effect exactly once.
func checkDatabase(t *testing.T, path string, results map[string]string, jobs map[string]jobBody) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	query := func(q string, scan func(*sql.Rows) error) {
		t.Helper()
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				t.Fatal(err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}

	stored := make(map[string]string)
	jobEvents := make(map[string]string)
	query(`SELECT id, kind, result FROM events`, func(r *sql.Rows) error {
		var id, kind, result string
		if err := r.Scan(&id, &kind, &result); err != nil {
			return err
		}
		switch kind {
		case "request":
			stored[id] = result
		case "job":
			jobEvents[strings.TrimPrefix(id, "job:")] = result
		default:
			t.Errorf("event %s of kind %q", id, kind)
		}
		return nil
	})
	for id, want := range results {
		if got, ok := stored[id]; !ok {
			t.Errorf("request %s was answered 200 but has no event", id)
		} else if got != want {
			t.Errorf("request %s: event result %s, answered %s", id, got, want)
		}
	}
	for id := range stored {
		if _, ok := results[id]; !ok {
			t.Errorf("event of request %s, which was never accepted", id)
		}
	}

	effects := make(map[string]jobBody)
	replays := 0
	query(`SELECT id, account, amount, replays FROM job_effects`, func(r *sql.Rows) error {
		var j jobBody
		var n int
		if err := r.Scan(&j.ID, &j.Account, &j.Amount, &n); err != nil {
			return err
		}
		effects[j.ID] = j
		replays += n
		return nil
	})
	want := make(map[string]int64)
	for id, j := range jobs {
		want[j.Account] += j.Amount
		if e, ok := effects[id]; !ok {
			t.Errorf("job %s was accepted but has no effect", id)
		} else if e.Account != j.Account || e.Amount != j.Amount {
			t.Errorf("job %s: effect %+v, want %+v", id, e, j)
		}
		if got, ok := jobEvents[id]; !ok {
			t.Errorf("job %s has no event", id)
		} else if got != fmt.Sprint(j.Amount) {
			t.Errorf("job %s: event result %s, want %d", id, got, j.Amount)
		}
	}
	if len(effects) != len(jobs) || len(jobEvents) != len(jobs) {
		t.Errorf("%d job effects and %d job events for %d jobs", len(effects), len(jobEvents), len(jobs))
	}
	balances := make(map[string]int64)
	query(`SELECT account, balance FROM balances`, func(r *sql.Rows) error {
		var a string
		var b int64
		err := r.Scan(&a, &b)
		balances[a] = b
		return err
	})
	if fmt.Sprint(balances) != fmt.Sprint(want) {
		t.Errorf("balances %v, want %v: a job credited twice or not at all", balances, want)
	}
	t.Logf("database: %d request events, %d jobs applied once each (%d later runs found them applied)",
		len(stored), len(effects), replays)
}

// waitEmpty waits until every job has left the stream: none stored, none
// pending or unacknowledged in the consumer.
func waitEmpty(ctx context.Context, t *testing.T, js jetstream.JetStream) {
	t.Helper()
	for {
		st, err := js.Stream(ctx, jobStream)
		if err != nil {
			t.Fatal(err)
		}
		cons, err := st.Consumer(ctx, durable)
		if err != nil {
			t.Fatal(err)
		}
		si, ci := st.CachedInfo(), cons.CachedInfo()
		if si.State.Msgs == 0 && ci.NumPending == 0 && ci.NumAckPending == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the stream still holds %d jobs (%d pending, %d unacknowledged)", si.State.Msgs, ci.NumPending, ci.NumAckPending)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// checkObservability checks /metrics, /debug/pools/ and its history.
func checkObservability(t *testing.T, c *client, base string) {
	t.Helper()
	get := func(path string) string {
		t.Helper()
		resp, err := c.hc.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		return string(b)
	}
	metrics := get("/metrics")
	for _, want := range []string{
		`poolgen_tasks_submitted_total{pattern="priority",pool="requests"`,
		`poolgen_tasks_rejected_total{pattern="priority",pool="requests"`,
		`poolgen_batches_total{pattern="batch",pool="events"`,
		`poolgen_tasks_completed_total{pattern="fixed",pool="jobs"`,
		`poolgen_priority_band_tasks_submitted_total{band="10..+inf",pattern="priority",pool="requests"`,
		"jobsvc_source_acked_total ",
		"jobsvc_events_written_total ",
		"jobsvc_jobs_applied_total ",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	if page := get("/debug/pools/"); !strings.Contains(page, "<html") {
		t.Errorf("/debug/pools/ is not the live page:\n%.300s", page)
	}
	// The monitor samples every second: wait for a sample.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var h struct {
			Pools []struct {
				Name string `json:"name"`
			} `json:"pools"`
		}
		if err := json.Unmarshal([]byte(get("/debug/pools/history.json")), &h); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range h.Pools {
			names = append(names, p.Name)
		}
		got := strings.Join(names, ",")
		if strings.Contains(got, "requests") && strings.Contains(got, "events") && strings.Contains(got, "jobs") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/debug/pools/history.json has pools %q, want requests, events and jobs", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkBadInput checks that bad requests get 400 with a message that
// says what is wrong, and a wrong method 405.
func checkBadInput(t *testing.T, c *client, base string) {
	t.Helper()
	for _, tc := range []struct{ path, body, want string }{
		{"/v1/requests", `{"id":`, "bad body"},
		{"/v1/requests", `{"id":"x","class":"bulk","color":"red"}`, "unknown field"},
		{"/v1/requests", `{"id":"x","class":"urgent"}`, "unknown class"},
		{"/v1/requests", `{"class":"bulk"}`, "id must have 1 to 128 bytes"},
		{"/v1/requests", `{"id":"x","class":"bulk","rounds":100001}`, "rounds 100001 out of range"},
		{"/v1/requests", `{"id":"x","class":"bulk","sleep_ms":1001}`, "sleep_ms 1001 out of range"},
		{"/v1/jobs", `{"id":"x","account":"a"}`, "amount must be positive"},
		{"/v1/jobs", `{"id":"x","amount":1}`, "account must have 1 to 128 bytes"},
		{"/v1/jobs", `{"account":"a","amount":1}`, "id must have 1 to 128 bytes"},
	} {
		resp, err := c.hc.Post(base+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), tc.want) {
			t.Errorf("POST %s %s: %s %s, want 400 saying %q", tc.path, tc.body, resp.Status, b, tc.want)
		}
	}
	resp, err := c.hc.Get(base + "/v1/requests")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/requests: %s, want 405", resp.Status)
	}
}

// client is the load generator's HTTP client: it retries what was not
// accepted, with the same ID, and counts every try by its outcome.
type client struct {
	base string
	hc   *http.Client

	tries, accepted, busy, connErrors, noRetryAfter atomic.Int64
}

func newClient(base string) *client {
	return &client{base: base, hc: &http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
	}}
}

// retryPause is how long the client waits before a retry: shorter than
// the Retry-After the service asks for, to keep the test short.
const retryPause = 20 * time.Millisecond

// post sends body to path until the answer is want, which it decodes into
// out. A 503 (which must carry Retry-After) or a connection error is
// retried if retry is set, an error otherwise; any other answer is an
// error.
func (c *client) post(ctx context.Context, path string, body, out any, want int, retry bool) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("POST %s %s: %w", path, data, err)
		}
		c.tries.Add(1)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(data))
		if err != nil {
			return err
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("POST %s %s: %w", path, data, err)
			}
			c.connErrors.Add(1) // refused while restarting, or closed
			if !retry {
				return fmt.Errorf("POST %s %s: %w", path, data, err)
			}
			time.Sleep(retryPause)
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case err != nil:
			c.connErrors.Add(1)
		case resp.StatusCode == http.StatusServiceUnavailable:
			c.busy.Add(1)
			if resp.Header.Get("Retry-After") != retryAfter {
				c.noRetryAfter.Add(1)
			}
		case resp.StatusCode == want:
			c.accepted.Add(1)
			return json.Unmarshal(b, out)
		default:
			return fmt.Errorf("POST %s %s: %s: %s", path, data, resp.Status, b)
		}
		if !retry {
			return fmt.Errorf("POST %s %s: %s: %s", path, data, resp.Status, b)
		}
		time.Sleep(retryPause)
	}
}

// request sends a request until it is accepted (or once, without retry),
// checks its result and records it in results.
func (c *client) request(ctx context.Context, b requestBody, retry bool, mu *sync.Mutex, results map[string]string) error {
	var a requestAnswer
	if err := c.post(ctx, "/v1/requests", b, &a, http.StatusOK, retry); err != nil {
		return err
	}
	if want := digest(b.Input, b.Rounds); a.ID != b.ID || a.Class != b.Class || a.Result != want {
		return fmt.Errorf("request %+v answered %+v, want result %s", b, a, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if _, ok := results[b.ID]; ok {
		return fmt.Errorf("request %s accepted twice", b.ID)
	}
	results[b.ID] = a.Result
	return nil
}

// job sends a job until the stream has it.
func (c *client) job(ctx context.Context, b jobBody) error {
	var a jobAnswer
	if err := c.post(ctx, "/v1/jobs", b, &a, http.StatusAccepted, true); err != nil {
		return err
	}
	if a.ID != b.ID || a.Seq == 0 {
		return fmt.Errorf("job %+v answered %+v", b, a)
	}
	return nil
}

// startNATS starts an embedded NATS server with JetStream storing its
// files in dir, on a free loopback port, until the test ends.
func startNATS(t testing.TB, dir string) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("the NATS server did not start")
	}
	return ns
}

// buildService builds the service's binary into dir, with the race
// detector if the test has it, and returns its path.
func buildService(t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building the service needs the go command: %v", err)
	}
	bin := filepath.Join(dir, "jobsvc")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	start := time.Now()
	out, err := exec.Command(goBin, append(args, ".")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built the service in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// proc is a running service.
type proc struct {
	cmd    *exec.Cmd
	addr   string
	stderr *syncBuffer
	done   chan struct{} // closed when it has exited, and err is set
	err    error         // what Wait returned
}

// startService starts the service with args and waits for the address it
// listens on. The process is killed when the test ends, if it still runs.
func startService(t *testing.T, bin string, args []string) *proc {
	t.Helper()
	addrs := make(chan string, 1)
	p := &proc{cmd: exec.Command(bin, args...), stderr: new(syncBuffer), done: make(chan struct{})}
	p.cmd.Stdout = &lineWriter{line: func(l string) {
		if a, ok := strings.CutPrefix(l, "jobsvc: listening on http://"); ok {
			select {
			case addrs <- a:
			default:
			}
		}
	}}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	select {
	case p.addr = <-addrs:
	case <-p.done:
		t.Fatalf("the service exited before listening (%v); its log:\n%s", p.err, p.log())
	case <-time.After(20 * time.Second):
		t.Fatalf("the service did not listen within 20s; its log:\n%s", p.log())
	}
	return p
}

// stop sends sig and returns the exit status (-1 if a signal ended the
// process).
func (p *proc) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		var ee *exec.ExitError
		if p.err != nil && !errors.As(p.err, &ee) {
			t.Fatal(p.err)
		}
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(30 * time.Second):
		t.Fatalf("the service did not exit within 30s of SIGTERM; its log:\n%s", p.log())
		return -1
	}
}

// log returns what the service wrote to its standard error.
func (p *proc) log() string { return p.stderr.String() }

// lineWriter calls line with each line written to it.
type lineWriter struct {
	buf  []byte
	line func(string)
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		w.line(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
