package poolmon

import (
	"embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// The page is embedded so that it works offline and behind firewalls, and
// always matches the JSON the binary serves.
//
//go:embed assets
var assets embed.FS

// files are the page's static files, by their name under the mount point.
var files = map[string]string{
	"":          "text/html; charset=utf-8",
	"app.js":    "text/javascript; charset=utf-8",
	"style.css": "text/css; charset=utf-8",
}

// The page may load only itself: no CDN, no font, no inline script.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

// ServeHTTP serves the live page and its data under the path the monitor
// is mounted at (which must end in "/", as with net/http/pprof):
//
//	""              the page
//	"history.json"  the history: every pool's samples and the firing alerts
//	"history.csv"   the same samples as a CSV file, one row per pool and interval
//	"events"        server-sent events: each new sample, as it is taken
//
// history.json and history.csv take a query parameter pool=name to
// restrict them to one pool. Other paths get 404, methods other than GET
// and HEAD 405.
func (m *Monitor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := route(r)
	_, static := files[name]
	switch name {
	case "history.json", "history.csv", "events":
	default:
		if !static {
			http.NotFound(w, r)
			return
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "poolgen: the pool monitor is read-only: use GET", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	switch name {
	case "history.json":
		m.serveJSON(w, r)
	case "history.csv":
		m.serveCSV(w, r)
	case "events":
		m.serveEvents(w, r)
	default:
		file := name
		if file == "" {
			file = "index.html"
			h.Set("Content-Security-Policy", contentSecurityPolicy)
		}
		b, _ := assets.ReadFile("assets/" + file) // embedded: cannot fail
		h.Set("Content-Type", files[name])
		h.Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	}
}

// route returns the part of r's path below the monitor's mount point. A
// ServeMux says where that is (Request.Pattern); a handler behind
// http.StripPrefix or called directly sees the rest of the path only.
func route(r *http.Request) string {
	path, pat := r.URL.Path, r.Pattern
	if i := strings.IndexByte(pat, ' '); i >= 0 { // a method
		pat = strings.TrimLeft(pat[i:], " ")
	}
	if i := strings.IndexByte(pat, '/'); i > 0 { // a host
		pat = pat[i:]
	}
	pat = strings.TrimSuffix(pat, "{$}")
	if strings.Contains(pat, "{") {
		// Wildcards: the mount point has as many segments as the pattern.
		if i := strings.LastIndexByte(strings.TrimSuffix(pat, "/"), '{'); i >= 0 && strings.HasSuffix(pat, "...}") {
			pat = pat[:i]
		}
		n := strings.Count(pat, "/")
		rest := path
		for ; n > 0; n-- {
			i := strings.IndexByte(rest, '/')
			if i < 0 {
				return "/" // not below the mount point: unknown
			}
			rest = rest[i+1:]
		}
		return rest
	}
	if strings.HasSuffix(pat, "/") && strings.HasPrefix(path, pat) {
		return path[len(pat):]
	}
	return strings.TrimPrefix(path, "/")
}

// history is the document history.json serves.
type history struct {
	Seq      uint64   `json:"seq"`      // the sample it is up to date with
	Interval float64  `json:"interval"` // seconds
	Window   float64  `json:"window"`   // seconds
	Now      string   `json:"now"`
	Pools    []Series `json:"pools"`
	Alerts   []Alert  `json:"alerts"`
}

// update is a message of the events stream: the samples taken at once.
type update struct {
	Seq    uint64       `json:"seq"`
	Pools  []poolUpdate `json:"pools"` // every pool with a history
	Alerts []Alert      `json:"alerts"`
}

type poolUpdate struct {
	Name    string `json:"name"`
	Pattern string `json:"pattern"`
	Task    string `json:"task"`
	Gone    bool   `json:"gone"`
	// Sample is the pool's new interval; nil for a pool seen for the
	// first time or gone.
	Sample *Sample `json:"sample,omitempty"`
	// Events are the scaling events that happened in that interval.
	Events []poolrt.ScaleEvent `json:"events,omitempty"`
}

func (m *Monitor) serveJSON(w http.ResponseWriter, r *http.Request) {
	only := r.URL.Query().Get("pool")
	m.mu.Lock()
	doc := history{
		Seq: m.seq, Interval: m.interval.Seconds(), Window: m.window.Seconds(),
		Now: time.Now().Format(time.RFC3339Nano), Pools: m.history(only), Alerts: encodable(m.firing()),
	}
	m.mu.Unlock()
	if only != "" && len(doc.Pools) == 0 {
		http.Error(w, fmt.Sprintf("poolgen: no pool named %q", only), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(doc)
}

// csvHeader names the CSV columns. Rates are per second, durations in
// seconds; band_wait_p99_seconds lists a priority pool's bands, lowest
// rank first, separated by spaces.
var csvHeader = []string{
	"time", "pool", "pattern", "task", "interval_seconds",
	"submitted_per_second", "completed_per_second", "failed_per_second", "panicked_per_second", "rejected_per_second",
	"workers", "busy", "queue_depth", "queue_cap", "utilization",
	"wait_p50_seconds", "wait_p99_seconds", "run_p50_seconds", "run_p99_seconds",
	"size", "min", "max", "scale_ups", "scale_downs",
	"steals", "stolen_tasks", "band_wait_p99_seconds",
	"batches", "flush_full", "flush_linger", "flush_idle", "flush_shutdown",
}

func (m *Monitor) serveCSV(w http.ResponseWriter, r *http.Request) {
	only := r.URL.Query().Get("pool")
	m.mu.Lock()
	all := m.history(only)
	m.mu.Unlock()
	if only != "" && len(all) == 0 {
		http.Error(w, fmt.Sprintf("poolgen: no pool named %q", only), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="pools-`+time.Now().UTC().Format("20060102T150405Z")+`.csv"`)
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	d := func(v time.Duration) string { return f(v.Seconds()) }
	n := func(v int) string { return strconv.Itoa(v) }
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	for _, s := range all {
		for _, x := range s.Samples {
			rate := func(v uint64) string { return f(float64(v) / x.Seconds) }
			bands := make([]string, len(x.Bands))
			for i, b := range x.Bands {
				bands[i] = d(b.WaitP99)
			}
			cw.Write([]string{
				x.At.UTC().Format(time.RFC3339Nano), s.Name, s.Pattern, s.Task, f(x.Seconds),
				rate(x.Submitted), rate(x.Completed), rate(x.Failed), rate(x.Panicked), rate(x.Rejected),
				n(x.Workers), n(x.Busy), n(x.QueueDepth), n(x.QueueCap), f(x.Utilization),
				d(x.WaitP50), d(x.WaitP99), d(x.RunP50), d(x.RunP99),
				n(x.Size), n(x.Min), n(x.Max), u(x.ScaleUps), u(x.ScaleDowns),
				u(x.Steals), u(x.StolenTasks), strings.Join(bands, " "),
				u(x.Batches), u(x.FlushFull), u(x.FlushLinger), u(x.FlushIdle), u(x.FlushShutdown),
			})
		}
	}
	cw.Flush()
}

// publish prepares the update message for the samples just taken and
// wakes the event streams; m.mu must be held. Encoding it once here, not
// per stream, keeps the cost of a page independent of how many are open.
func (m *Monitor) publish(fresh []freshSample) {
	m.seq++
	byName := make(map[string]*Sample, len(fresh))
	for i := range fresh {
		byName[fresh[i].name] = &fresh[i].sample
	}
	u := update{Seq: m.seq, Pools: []poolUpdate{}, Alerts: encodable(m.firing())}
	for _, s := range m.sortedSeries() {
		p := poolUpdate{Name: s.name, Pattern: s.pattern, Task: s.task, Gone: s.gone, Sample: byName[s.name]}
		if p.Sample != nil {
			from := p.Sample.At.Add(-time.Duration(p.Sample.Seconds * float64(time.Second)))
			for _, e := range s.events {
				if e.At.After(from) {
					p.Events = append(p.Events, e)
				}
			}
		}
		u.Pools = append(u.Pools, p)
	}
	m.update, _ = json.Marshal(u) // finite numbers, strings and times: cannot fail
	close(m.updated)
	m.updated = make(chan struct{})
}

// encodable replaces the values JSON cannot hold (a custom rule's NaN or
// infinity) with 0, so that one odd rule cannot break the page.
func encodable(alerts []Alert) []Alert {
	for i, a := range alerts {
		if math.IsNaN(a.Value) || math.IsInf(a.Value, 0) {
			alerts[i].Value = 0
		}
	}
	return alerts
}

// sortedSeries returns the series by name; m.mu must be held.
func (m *Monitor) sortedSeries() []*series {
	all := make([]*series, 0, len(m.series))
	for _, s := range m.series {
		all = append(all, s)
	}
	slices.SortFunc(all, func(a, b *series) int { return strings.Compare(a.name, b.name) })
	return all
}

// serveEvents streams each update as a server-sent event whose id is its
// sequence number: a page that sees a gap (it was too slow, or it
// reconnected) reloads history.json instead.
func (m *Monitor) serveEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // let nginx pass events through
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	// The latest update first: the page may have loaded the history just
	// before it, or just after.
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return
	}
	var sent uint64
	for {
		m.mu.Lock()
		msg, seq, next := m.update, m.seq, m.updated
		m.mu.Unlock()
		if seq != sent && msg != nil {
			if _, err := fmt.Fprintf(w, "id: %d\nevent: update\ndata: %s\n\n", seq, msg); err != nil {
				return
			}
			sent = seq
		}
		if rc.Flush() != nil {
			return
		}
		select {
		case <-next:
		case <-m.done:
			return
		case <-r.Context().Done():
			return
		}
	}
}
