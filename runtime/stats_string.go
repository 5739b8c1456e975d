package poolrt

import (
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// statsWidth is the widest line, in columns, that the String methods of
// Stats and its sections write; statsHead is the width of the column of
// line heads ("tasks", "wait", "scaling"), where continuation lines start.
const (
	statsWidth = 100
	statsHead  = 9
)

// String summarizes the snapshot in a few lines of at most 100 columns:
// gauges, counters and the completion rate, queue-wait and run-time
// percentiles rounded to three significant digits, then the pattern's
// section, if any, and the circuit breaker's. It is what %v and %+v print, so
//
//	fmt.Println(p.Stats())
//
// prints a readable summary. The text is for people; programs should read
// the fields, or log the snapshot through log/slog (see [Stats.LogValue]).
func (s Stats) String() string {
	var t statsText
	t.line("workers",
		strconv.Itoa(s.Workers)+" (busy "+strconv.Itoa(s.Busy)+", idle "+strconv.Itoa(s.Idle)+")",
		"utilization "+percent(s.Utilization),
		"queue "+strconv.Itoa(s.QueueDepth)+" of "+strconv.Itoa(s.QueueCap),
		"uptime "+round3(s.Uptime).String())
	completed := "completed " + u64(s.Completed)
	if s.Uptime > 0 {
		completed += " (" + rate(s.Completed, s.Uptime) + "/s)"
	}
	tasks := []string{"submitted " + u64(s.Submitted), completed, "failed " + u64(s.Failed),
		"panicked " + u64(s.Panicked), "rejected " + u64(s.Rejected),
		"caller-runs " + u64(s.CallerRuns), "returned " + u64(s.Returned)}
	if s.TimedOut > 0 { // shown only when it happened, as hook panics
		tasks = append(tasks, "timed out "+u64(s.TimedOut))
	}
	if s.Retries > 0 || s.DeadLettered > 0 { // shown only under Retry or OnDeadLetter
		tasks = append(tasks, "retries "+u64(s.Retries), "retry succeeded "+u64(s.RetrySucceeded),
			"dead-lettered "+u64(s.DeadLettered))
	}
	if s.HookPanics > 0 { // rare: shown only when it happened
		tasks = append(tasks, "hook panics "+u64(s.HookPanics))
	}
	if s.StuckTasks > 0 { // shown only under a Watchdog that reported
		tasks = append(tasks, "stuck "+strconv.Itoa(s.Stuck)+" now, "+u64(s.StuckTasks)+" reported")
	}
	if s.Shed > 0 || s.Shedding { // shown only under Shed, once it acted
		shed := "shed " + u64(s.Shed)
		if s.Shedding {
			shed += " (shedding now)"
		}
		tasks = append(tasks, shed)
	}
	if s.Paced > 0 { // shown only when Submit paced
		tasks = append(tasks, "paced "+u64(s.Paced))
	}
	t.line("tasks", tasks...)
	t.line("wait", latencyItems(s.Wait, true, "none sampled")...)
	t.line("run", latencyItems(s.Run, true, "none sampled")...)
	if s.Scaling != nil {
		s.Scaling.write(&t)
	}
	if s.Stealing != nil {
		s.Stealing.write(&t)
	}
	if s.Priority != nil {
		s.Priority.write(&t)
	}
	if s.Batch != nil {
		s.Batch.write(&t)
	}
	if s.Router != nil {
		s.Router.write(&t)
	}
	if s.Breaker != nil {
		s.Breaker.write(&t)
	}
	if s.Affinity != nil {
		s.Affinity.write(&t)
	}
	if s.Resources != nil {
		s.Resources.write(&t)
	}
	if s.Fair != nil {
		s.Fair.write(&t)
	}
	if s.Scheduled != nil {
		s.Scheduled.write(&t)
	}
	return t.String()
}

// LogValue makes Stats a [slog.LogValuer]: logged as
//
//	slog.Info("pool", "stats", p.Stats())
//
// it is a group of the counters and gauges, the utilization, the uptime,
// the queue wait's and run time's P50 and P99, and the pattern's section,
// if any, as a nested group ("scaling", "stealing", "priority",
// "batch" or "fair") of its key numbers, the circuit breaker's
// ("breaker") and the scheduled tasks' ("scheduled").
func (s Stats) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, 30)
	attrs = append(attrs,
		slog.Int("workers", s.Workers),
		slog.Int("busy", s.Busy),
		slog.Int("idle", s.Idle),
		slog.Int("queue_depth", s.QueueDepth),
		slog.Int("queue_cap", s.QueueCap),
		slog.Uint64("submitted", s.Submitted),
		slog.Uint64("completed", s.Completed),
		slog.Uint64("failed", s.Failed),
		slog.Uint64("panicked", s.Panicked),
		slog.Uint64("rejected", s.Rejected),
		slog.Uint64("caller_runs", s.CallerRuns),
		slog.Uint64("returned", s.Returned),
		slog.Uint64("timed_out", s.TimedOut),
		slog.Uint64("retries", s.Retries),
		slog.Uint64("retry_succeeded", s.RetrySucceeded),
		slog.Uint64("dead_lettered", s.DeadLettered),
		slog.Uint64("hook_panics", s.HookPanics),
		slog.Int("stuck", s.Stuck),
		slog.Uint64("stuck_tasks", s.StuckTasks),
		slog.Float64("utilization", s.Utilization),
		slog.Duration("uptime", s.Uptime),
		slog.Duration("wait_p50", s.Wait.P50),
		slog.Duration("wait_p99", s.Wait.P99),
		slog.Duration("run_p50", s.Run.P50),
		slog.Duration("run_p99", s.Run.P99),
		slog.Uint64("shed", s.Shed),
		slog.Bool("shedding", s.Shedding),
		slog.Uint64("paced", s.Paced),
	)
	if s.Scaling != nil {
		attrs = append(attrs, slog.Attr{Key: "scaling", Value: s.Scaling.logValue()})
	}
	if s.Stealing != nil {
		attrs = append(attrs, slog.Attr{Key: "stealing", Value: s.Stealing.logValue()})
	}
	if s.Priority != nil {
		attrs = append(attrs, slog.Attr{Key: "priority", Value: s.Priority.logValue()})
	}
	if s.Batch != nil {
		attrs = append(attrs, slog.Attr{Key: "batch", Value: s.Batch.logValue()})
	}
	if s.Router != nil {
		attrs = append(attrs, slog.Attr{Key: "router", Value: s.Router.logValue()})
	}
	if s.Breaker != nil {
		attrs = append(attrs, slog.Attr{Key: "breaker", Value: s.Breaker.logValue()})
	}
	if s.Affinity != nil {
		attrs = append(attrs, slog.Attr{Key: "affinity", Value: s.Affinity.logValue()})
	}
	if s.Resources != nil {
		attrs = append(attrs, slog.Attr{Key: "resources", Value: s.Resources.logValue()})
	}
	if s.Fair != nil {
		attrs = append(attrs, slog.Attr{Key: "fair", Value: s.Fair.logValue()})
	}
	if s.Scheduled != nil {
		attrs = append(attrs, slog.Attr{Key: "scheduled", Value: s.Scheduled.logValue()})
	}
	return slog.GroupValue(attrs...)
}

// String summarizes the section as [Stats.String] prints it: the size and
// its limits, the changes of size and the controller's evaluations, the
// time spent at the maximum and the minimum, the latest measurement and
// the latest change.
func (s ScalingStats) String() string {
	var t statsText
	s.write(&t)
	return t.String()
}

func (s *ScalingStats) write(t *statsText) {
	t.line("scaling",
		"size "+strconv.Itoa(s.Size)+" (min "+strconv.Itoa(s.Min)+", max "+strconv.Itoa(s.Max)+
			", peak "+strconv.Itoa(s.Peak)+")",
		"ups "+u64(s.Ups), "downs "+u64(s.Downs), "evaluations "+u64(s.Evaluations),
		"surges "+u64(s.Surges), "capped "+u64(s.Capped), "held "+u64(s.Held),
		"at max "+round3(s.AtMax).String(), "at min "+round3(s.AtMin).String())
	if l := s.Last; !l.At.IsZero() {
		t.line("", "measured at "+clock(l.At)+": utilization "+percent(l.Utilization),
			"queue "+strconv.Itoa(l.QueueDepth)+" of "+strconv.Itoa(l.QueueCap),
			"arrivals "+rate(l.Arrivals, l.Interval)+"/s",
			"completions "+rate(l.Completions, l.Interval)+"/s",
			"mean run "+round3(l.MeanRun).String())
	}
	if n := len(s.Events); n > 0 {
		e := s.Events[n-1]
		t.line("", "last change at "+clock(e.At)+": "+strconv.Itoa(e.From)+" → "+strconv.Itoa(e.To)+
			" workers ("+e.Reason+")")
	}
}

func (s *ScalingStats) logValue() slog.Value {
	return slog.GroupValue(
		slog.Int("size", s.Size),
		slog.Int("min", s.Min),
		slog.Int("max", s.Max),
		slog.Int("peak", s.Peak),
		slog.Uint64("ups", s.Ups),
		slog.Uint64("downs", s.Downs),
		slog.Uint64("capped", s.Capped),
		slog.Duration("at_max", s.AtMax),
		slog.Duration("at_min", s.AtMin),
	)
}

// String summarizes the section as [Stats.String] prints it: where the
// workers found their tasks, the steals and forks, and the spread of the
// per-worker counters (least..most over the worker slots).
func (s StealingStats) String() string {
	var t statsText
	s.write(&t)
	return t.String()
}

func (s *StealingStats) write(t *statsText) {
	t.line("stealing", "tasks from own deque "+u64(s.Local), "from injector "+u64(s.Injector),
		"stolen "+u64(s.Stolen),
		"steals "+u64(s.Steals)+" of "+u64(s.StealAttempts)+" attempts ("+u64(s.StolenTasks)+" tasks)",
		"forked "+u64(s.Forked)+" ("+u64(s.ForkedToInjector)+" to injector, "+
			u64(s.ForkedInline)+" inline)")
	if len(s.Workers) == 0 {
		return
	}
	var tasks, stolen, steals, attempts spread
	for _, w := range s.Workers {
		tasks.add(w.Local + w.Injector + w.Stolen)
		stolen.add(w.StolenTasks)
		steals.add(w.Steals)
		attempts.add(w.StealAttempts)
	}
	t.line("", "per worker ("+strconv.Itoa(len(s.Workers))+"): tasks "+tasks.String()+
		" (mean "+strconv.FormatFloat(tasks.mean(), 'f', 1, 64)+")",
		"steals "+steals.String(), "stolen tasks "+stolen.String(), "attempts "+attempts.String())
}

func (s *StealingStats) logValue() slog.Value {
	return slog.GroupValue(
		slog.Uint64("local", s.Local),
		slog.Uint64("injector", s.Injector),
		slog.Uint64("stolen", s.Stolen),
		slog.Uint64("steal_attempts", s.StealAttempts),
		slog.Uint64("steals", s.Steals),
		slog.Uint64("stolen_tasks", s.StolenTasks),
		slog.Uint64("forked", s.Forked),
	)
}

// spread is the least, the most and the sum of a per-worker counter.
type spread struct{ lo, hi, sum, n uint64 }

func (s *spread) add(v uint64) {
	if s.n == 0 || v < s.lo {
		s.lo = v
	}
	s.hi = max(s.hi, v)
	s.sum += v
	s.n++
}

func (s *spread) mean() float64 { return float64(s.sum) / float64(max(s.n, 1)) }

func (s *spread) String() string {
	if s.lo == s.hi {
		return u64(s.lo)
	}
	return u64(s.lo) + ".." + u64(s.hi)
}

// String summarizes the section as [Stats.String] prints it: the order,
// the aging period, the starvation gauge, a table of the bands (or a line
// per band when a table would not fit), their ranks written as ranges
// ("≤ -1", "0..9", "≥ 10", or "all" for the one band of a pool without
// [Bands]), and for a deadline pool the late tasks.
func (s PriorityStats) String() string {
	var t statsText
	s.write(&t)
	return t.String()
}

func (s *PriorityStats) write(t *statsText) {
	aging := "aging off"
	if s.Aging > 0 {
		aging = "aging " + round3(s.Aging).String()
	}
	t.line("priority", "by "+s.Kind.String(), aging,
		"lowest band's max wait "+round3(s.LowestMaxWait).String())
	if !s.bandTable(t) {
		for _, b := range s.Bands {
			items := []string{"submitted " + u64(b.Submitted), "completed " + u64(b.Completed),
				"panicked " + u64(b.Panicked), "returned " + u64(b.Returned)}
			items = append(items, latencyItems(b.Wait, false, "none sampled")...)
			items[4] = "wait " + items[4]
			t.row(strings.Repeat(" ", statsHead)+"band "+bandRange(b.Lo, b.Hi)+": ", statsHead, items)
		}
	}
	if s.Kind == ByDeadline || s.Missed+s.Dropped+s.HandedOff > 0 {
		items := []string{"late: missed " + u64(s.Missed), "dropped " + u64(s.Dropped),
			"handed off " + u64(s.HandedOff)}
		items = append(items, latencyItems(s.Lateness, false, "none")...)
		items[3] = "lateness " + items[3]
		t.line("", items...)
	}
}

// bandTable writes the bands as a table, a row per band, and reports
// whether it did: not when the table would be too wide.
func (s *PriorityStats) bandTable(t *statsText) bool {
	rows := [][]string{{"band", "submitted", "completed", "panicked", "returned",
		"wait p50", "wait p99", "wait max"}}
	for _, b := range s.Bands {
		row := []string{bandRange(b.Lo, b.Hi), u64(b.Submitted), u64(b.Completed),
			u64(b.Panicked), u64(b.Returned), "-", "-", "-"}
		if b.Wait.Count > 0 || b.Wait.Max > 0 {
			row[5], row[6], row[7] = round3(b.Wait.P50).String(), round3(b.Wait.P99).String(),
				round3(b.Wait.Max).String()
		}
		rows = append(rows, row)
	}
	widths := make([]int, len(rows[0]))
	total := statsHead + 2*(len(widths)-1)
	for c := range widths {
		for _, row := range rows {
			widths[c] = max(widths[c], utf8.RuneCountInString(row[c]))
		}
		total += widths[c]
	}
	if total > statsWidth {
		return false
	}
	for _, row := range rows {
		var b strings.Builder
		b.WriteString(strings.Repeat(" ", statsHead))
		for c, cell := range row {
			pad := strings.Repeat(" ", widths[c]-utf8.RuneCountInString(cell))
			if c == 0 {
				b.WriteString(cell + pad)
			} else {
				b.WriteString("  " + pad + cell)
			}
		}
		t.row(b.String(), statsHead, nil)
	}
	return true
}

func (s *PriorityStats) logValue() slog.Value {
	return slog.GroupValue(
		slog.String("kind", s.Kind.String()),
		slog.Int("bands", len(s.Bands)),
		slog.Duration("lowest_max_wait", s.LowestMaxWait),
		slog.Uint64("missed", s.Missed),
		slog.Uint64("dropped", s.Dropped),
		slog.Uint64("handed_off", s.HandedOff),
	)
}

// bandRange writes the ranks lo..hi of a [BandStats] as people read them:
// "≤ hi" when lo is the lowest int64 (the band has no lower bound), "≥ lo"
// when hi is the highest, "all" when both are, "lo" for a single rank and
// "lo..hi" otherwise.
func bandRange(lo, hi int64) string {
	switch {
	case lo == math.MinInt64 && hi == math.MaxInt64:
		return "all"
	case lo == math.MinInt64:
		return "≤ " + strconv.FormatInt(hi, 10)
	case hi == math.MaxInt64:
		return "≥ " + strconv.FormatInt(lo, 10)
	case lo == hi:
		return strconv.FormatInt(lo, 10)
	}
	return strconv.FormatInt(lo, 10) + ".." + strconv.FormatInt(hi, 10)
}

// String summarizes the section as [Stats.String] prints it: the batches
// and their mean size, the batches gathering and waiting now, why batches
// were handed over, and the batches by size class.
func (s BatchStats) String() string {
	var t statsText
	s.write(&t)
	return t.String()
}

func (s *BatchStats) write(t *statsText) {
	t.line("batch", "batches "+u64(s.Batches)+" ("+u64(s.Failed)+" failed)",
		"mean size "+strconv.FormatFloat(s.MeanSize, 'f', 1, 64),
		"open "+strconv.Itoa(s.Open), "ready "+strconv.Itoa(s.Ready))
	t.line("", "flushed full "+u64(s.Full), "linger "+u64(s.Linger), "idle "+u64(s.Idle),
		"shutdown "+u64(s.Shutdown))
	var sizes []string
	for i, n := range s.Sizes {
		if n == 0 {
			continue
		}
		class := "1"
		switch {
		case i == 1:
			class = "2"
		case i > 1:
			class = strconv.FormatUint(1<<(i-1)+1, 10) + ".." + strconv.FormatUint(1<<i, 10)
		}
		if sizes == nil {
			class = "sizes " + class
		}
		sizes = append(sizes, class+": "+u64(n))
	}
	if sizes != nil {
		t.line("", sizes...)
	}
}

func (s *BatchStats) logValue() slog.Value {
	return slog.GroupValue(
		slog.Uint64("batches", s.Batches),
		slog.Uint64("failed", s.Failed),
		slog.Float64("mean_size", s.MeanSize),
		slog.Uint64("full", s.Full),
		slog.Uint64("linger", s.Linger),
		slog.Uint64("idle", s.Idle),
		slog.Uint64("shutdown", s.Shutdown),
	)
}

// latencyItems formats l's percentiles and maximum (all of them, or only
// P50, P99 and max), durations rounded to three significant digits, or
// says none when l has no observations.
func latencyItems(l Latency, all bool, none string) []string {
	if l.Count == 0 && l.Max == 0 {
		return []string{none}
	}
	d := func(name string, v time.Duration) string { return name + " " + round3(v).String() }
	if !all {
		return []string{d("p50", l.P50), d("p99", l.P99), d("max", l.Max)}
	}
	return []string{d("p50", l.P50), d("p95", l.P95), d("p99", l.P99), d("p99.9", l.P999),
		d("max", l.Max), d("mean", l.Mean), u64(l.Count) + " sampled"}
}

// round3 rounds d to three significant digits: histogram bucket bounds
// such as 385.875968ms carry more digits than they mean.
func round3(d time.Duration) time.Duration {
	a := d
	if a < 0 {
		a = -a
	}
	unit := time.Duration(1)
	for a/unit >= 1000 {
		unit *= 10
	}
	return d.Round(unit)
}

// rate formats n per d as a per-second rate with about three significant
// digits.
func rate(n uint64, d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	v := float64(n) / d.Seconds()
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func percent(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }

func clock(t time.Time) string { return t.Format("15:04:05.000") }

func u64(n uint64) string { return strconv.FormatUint(n, 10) }

// statsText lays out the lines of the String methods: a head, then items
// separated by commas, wrapped at statsWidth columns.
type statsText struct {
	b      strings.Builder
	col    int // columns on the current line
	indent int // where continuation lines start
}

func (t *statsText) String() string { return t.b.String() }

// line writes head, padded to statsHead columns, and items.
func (t *statsText) line(head string, items ...string) {
	pad := max(statsHead-utf8.RuneCountInString(head), 1)
	t.row(head+strings.Repeat(" ", pad), statsHead, items)
}

// row writes prefix and items, separated by ", ", on a new line, and
// wraps the line before an item that would go past statsWidth, onto a
// line indented by indent columns. An item too long for a line of its own
// is wrapped at its spaces, a word too long at statsWidth.
func (t *statsText) row(prefix string, indent int, items []string) {
	if t.b.Len() > 0 {
		t.b.WriteByte('\n')
	}
	t.b.WriteString(prefix)
	t.col, t.indent = utf8.RuneCountInString(prefix), indent
	room := statsWidth - indent - 1 // the widest item or word that fits, with a comma after it
	for i, it := range items {
		sep, comma := ", ", 0 // comma: room for the comma that ends a line before the next item
		if i == 0 {
			sep = ""
		}
		if i < len(items)-1 {
			comma = 1
		}
		if utf8.RuneCountInString(it) <= room {
			t.put(sep, it, comma)
			continue
		}
		words := strings.Split(it, " ")
		for j, w := range words {
			if j > 0 {
				sep = " "
			}
			for utf8.RuneCountInString(w) > room {
				cut, runes := 0, 0
				for k := range w {
					if runes == room {
						cut = k
						break
					}
					runes++
				}
				t.put(sep, w[:cut], 0)
				sep, w = "", w[cut:]
			}
			if j < len(words)-1 {
				t.put(sep, w, 0)
			} else {
				t.put(sep, w, comma)
			}
		}
	}
}

// put writes sep and s, or ends the line (keeping sep's comma, if any)
// and writes s on a continuation line when they and trail more columns do
// not fit.
func (t *statsText) put(sep, s string, trail int) {
	n := utf8.RuneCountInString(s)
	if t.col+len(sep)+n+trail > statsWidth && t.col > t.indent {
		t.b.WriteString(strings.TrimRight(sep, " "))
		t.b.WriteString("\n")
		t.b.WriteString(strings.Repeat(" ", t.indent))
		t.col, sep = t.indent, ""
	}
	t.b.WriteString(sep)
	t.b.WriteString(s)
	t.col += len(sep) + n
}

var _ fmt.Stringer = Stats{}
var _ slog.LogValuer = Stats{}
