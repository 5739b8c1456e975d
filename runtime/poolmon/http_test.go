package poolmon

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// get serves a GET of target on h and returns the response.
func get(h http.Handler, method, target string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
	return w
}

// sampled returns a monitor with a few intervals of two fake pools, one
// of them a priority pool, mounted on a ServeMux at /debug/pools/.
func sampled(t *testing.T, body func(mux *http.ServeMux, m *Monitor)) {
	synctest.Test(t, func(t *testing.T) {
		a := addFake(t, "alpha", "fixed")
		b := addFake(t, "beta", "priority")
		odd := Rule{Name: "odd", FireAfter: 1, Check: func(s Sample) (float64, bool) { return math.Inf(1), s.QueueDepth > 0 }}
		m := start(t, Config{Rules: []Rule{Stuck(), odd}, Logger: discard()})
		for i := range 4 {
			a.ran(100*(i+1), time.Millisecond)
			b.step(func(st *poolrt.Stats) {
				st.QueueDepth = 5
				st.Priority = &poolrt.PriorityStats{Bands: []poolrt.BandStats{{Lo: -9, Hi: 0}, {Lo: 1, Hi: 9}}}
				st.Priority.Bands[1].Wait.Buckets[4] = uint64(i)
			})
			tick(time.Second)
		}
		mux := http.NewServeMux()
		mux.Handle("/debug/pools/", m)
		body(mux, m)
	})
}

func TestPage(t *testing.T) {
	sampled(t, func(mux *http.ServeMux, m *Monitor) {
		for path, ct := range map[string]string{
			"/debug/pools/":          "text/html",
			"/debug/pools/app.js":    "text/javascript",
			"/debug/pools/style.css": "text/css",
		} {
			w := get(mux, "GET", path)
			assert.Equal(t, http.StatusOK, w.Code, path)
			assert.True(t, strings.HasPrefix(w.Header().Get("Content-Type"), ct), "%s: %s", path, w.Header().Get("Content-Type"))
			assert.NotEmpty(t, w.Body.Bytes())
		}
		page := get(mux, "GET", "/debug/pools/")
		assert.Contains(t, page.Body.String(), `<script src="app.js"`, "relative: works under any prefix")
		assert.Contains(t, page.Header().Get("Content-Security-Policy"), "default-src 'none'")
		assert.NotContains(t, page.Body.String(), "http://", "nothing from elsewhere")
		assert.NotContains(t, page.Body.String(), "https://")

		for _, path := range []string{"/debug/pools/nope", "/debug/pools/x/", "/debug/pools/x/history.json", "/debug/pools/index.html"} {
			assert.Equal(t, http.StatusNotFound, get(mux, "GET", path).Code, path)
		}
		w := get(mux, "POST", "/debug/pools/history.json")
		assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
		assert.Equal(t, "GET, HEAD", w.Header().Get("Allow"))
		assert.Equal(t, http.StatusOK, get(mux, "HEAD", "/debug/pools/").Code)
	})
}

func TestHistoryJSON(t *testing.T) {
	sampled(t, func(mux *http.ServeMux, m *Monitor) {
		w := get(mux, "GET", "/debug/pools/history.json")
		require.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
		var doc struct {
			Seq      uint64
			Interval float64
			Window   float64
			Pools    []map[string]any
			Alerts   []map[string]any
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &doc))
		assert.Equal(t, uint64(5), doc.Seq, "the first reading and 4 intervals")
		assert.Equal(t, 1.0, doc.Interval)
		assert.Equal(t, 900.0, doc.Window)
		require.Len(t, doc.Pools, 2)
		alpha := doc.Pools[0]
		assert.Equal(t, "alpha", alpha["name"])
		assert.Equal(t, "fixed", alpha["pattern"])
		assert.Equal(t, "poolmon.fakeTask", alpha["task"])
		assert.Equal(t, false, alpha["gone"])
		samples := alpha["samples"].([]any)
		require.Len(t, samples, 4)
		last := samples[3].(map[string]any)
		for _, k := range []string{"at", "seconds", "completed", "submitted", "failed", "panicked", "rejected", "workers", "busy",
			"queueDepth", "queueCap", "utilization", "waitP50", "waitP99", "runP50", "runP99"} {
			assert.Contains(t, last, k)
		}
		assert.Equal(t, 400.0, last["completed"])
		assert.Equal(t, float64(class(time.Millisecond)), float64(class(time.Duration(last["runP99"].(float64)))), "nanoseconds")
		bands := doc.Pools[1]["samples"].([]any)[3].(map[string]any)["bands"].([]any)
		require.Len(t, bands, 2)
		assert.Equal(t, 1.0, bands[1].(map[string]any)["lo"])
		require.Len(t, doc.Alerts, 2, "beta is stuck, and odd")
		assert.Equal(t, "beta", doc.Alerts[0]["pool"])
		assert.Equal(t, "stuck", doc.Alerts[0]["rule"])
		assert.Equal(t, 0.0, doc.Alerts[1]["value"], "infinity does not break the JSON")
		assert.True(t, math.IsInf(m.Alerts()[1].Value, 1), "the Go API keeps it")

		w = get(mux, "GET", "/debug/pools/history.json?pool=beta")
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &doc))
		require.Len(t, doc.Pools, 1)
		assert.Equal(t, "beta", doc.Pools[0]["name"])
		w = get(mux, "GET", "/debug/pools/history.json?pool=gamma")
		assert.Equal(t, http.StatusNotFound, w.Code)
		assert.Contains(t, w.Body.String(), `poolgen: no pool named "gamma"`)
	})
}

func TestHistoryCSV(t *testing.T) {
	sampled(t, func(mux *http.ServeMux, m *Monitor) {
		w := get(mux, "GET", "/debug/pools/history.csv")
		require.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "text/csv; charset=utf-8", w.Header().Get("Content-Type"))
		assert.Contains(t, w.Header().Get("Content-Disposition"), `attachment; filename="pools-`)
		rows, err := csv.NewReader(w.Body).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 1+8, "a header and 4 intervals of 2 pools")
		assert.Equal(t, csvHeader, rows[0])
		col := func(name string) int {
			for i, h := range rows[0] {
				if h == name {
					return i
				}
			}
			t.Fatalf("no column %s", name)
			return -1
		}
		for i, r := range rows[1:5] {
			assert.Equal(t, "alpha", r[col("pool")])
			assert.Equal(t, strconv.Itoa(100*(i+1)), r[col("completed_per_second")])
			_, err := time.Parse(time.RFC3339Nano, r[col("time")])
			assert.NoError(t, err)
			rp99, err := strconv.ParseFloat(r[col("run_p99_seconds")], 64)
			assert.NoError(t, err)
			assert.Equal(t, class(time.Millisecond), class(time.Duration(rp99*1e9)))
		}
		beta := rows[8]
		assert.Equal(t, "beta", beta[col("pool")])
		assert.Equal(t, "5", beta[col("queue_depth")])
		assert.Len(t, strings.Fields(beta[col("band_wait_p99_seconds")]), 2)

		w = get(mux, "GET", "/debug/pools/history.csv?pool=alpha")
		rows, _ = csv.NewReader(w.Body).ReadAll()
		assert.Len(t, rows, 5)
		assert.Equal(t, http.StatusNotFound, get(mux, "GET", "/debug/pools/history.csv?pool=x").Code)
	})
}

func TestMountPoints(t *testing.T) {
	sampled(t, func(_ *http.ServeMux, m *Monitor) {
		for _, c := range []struct {
			pattern string
			h       http.Handler
			path    string
		}{
			{"GET /ops/pools/", m, "/ops/pools/history.json"},
			{"example.com/pools/", m, "/pools/history.json"},
			{"/t/{tenant}/pools/", m, "/t/acme/pools/history.json"},
			{"/w/{rest...}", m, "/w/history.json"},
			{"/s/", http.StripPrefix("/s", m), "/s/history.json"},
		} {
			mux := http.NewServeMux()
			mux.Handle(c.pattern, c.h)
			w := httptest.NewRecorder()
			r := httptest.NewRequest("GET", c.path, nil)
			r.Host = "example.com"
			mux.ServeHTTP(w, r)
			assert.Equal(t, http.StatusOK, w.Code, c.pattern)
			assert.Equal(t, "application/json", w.Header().Get("Content-Type"), c.pattern)

			w = httptest.NewRecorder()
			mux.ServeHTTP(w, httptest.NewRequest("GET", strings.Replace(c.path, "history.json", "x/history.json", 1), nil))
			assert.Equal(t, http.StatusNotFound, w.Code, c.pattern)
		}
		// Not behind a ServeMux at all: the path is the monitor's own.
		assert.Equal(t, http.StatusOK, get(m, "GET", "/history.csv").Code)
		assert.Equal(t, http.StatusNotFound, get(m, "GET", "/t/x").Code)
		r := httptest.NewRequest("GET", "/t/history.json", nil)
		r.Pattern = "/t/{a}/{b}/"
		w := httptest.NewRecorder()
		m.ServeHTTP(w, r)
		assert.Equal(t, http.StatusNotFound, w.Code, "shallower than the pattern")
	})
}

// TestEvents reads the stream over a real connection: each sample comes
// as one framed event, numbered, and the stream ends with the monitor.
func TestEvents(t *testing.T) {
	addFake(t, "alpha", "fixed")
	m, err := Start(Config{Interval: 20 * time.Millisecond})
	require.NoError(t, err)
	defer m.Stop()
	mux := http.NewServeMux()
	mux.Handle("/debug/pools/", m)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/debug/pools/events", nil)
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	rd := bufio.NewReader(res.Body)
	frame := func() []string {
		var lines []string
		for {
			l, err := rd.ReadString('\n')
			require.NoError(t, err)
			if l == "\n" {
				return lines
			}
			lines = append(lines, strings.TrimSuffix(l, "\n"))
		}
	}
	assert.Equal(t, []string{"retry: 2000"}, frame())
	var last uint64
	for i := range 3 {
		f := frame()
		require.Len(t, f, 3, "%q", f)
		id, err := strconv.ParseUint(strings.TrimPrefix(f[0], "id: "), 10, 64)
		require.NoError(t, err)
		assert.Equal(t, "event: update", f[1])
		var u update
		require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(f[2], "data: ")), &u))
		assert.Equal(t, id, u.Seq)
		require.Len(t, u.Pools, 1)
		assert.Equal(t, "alpha", u.Pools[0].Name)
		if i > 0 {
			assert.Greater(t, id, last)
			assert.NotNil(t, u.Pools[0].Sample, "a new interval")
		}
		last = id
	}
	m.Stop()
	_, err = rd.ReadString('\n')
	for err == nil { // the end of a frame under way
		_, err = rd.ReadString('\n')
	}
	assert.ErrorContains(t, err, "EOF", "the stream ends with the monitor")

	w := get(mux, "HEAD", "/debug/pools/events")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Empty(t, w.Body.String())
}
