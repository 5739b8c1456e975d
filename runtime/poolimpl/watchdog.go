package poolimpl

import (
	"sync/atomic"
	"time"

	"github.com/poolgen/poolgen/runtime/internal/config"
)

// watchdog finds the tasks that run longer than a threshold
// (poolrt.Watchdog) without adding anything to the workers' path: a
// goroutine looks, every quarter of the threshold, at what each worker
// slot's meter holds anyway, whether the worker is busy and how many
// tasks it has ended. A worker seen busy twice with the same count is
// running the same task, since a worker counts each task as it ends and
// turns idle only after its last one ended; so the task has run at least
// since the first of those looks. The task itself, which Run may be
// writing, is never read.
type watchdog struct {
	m     *Meter
	set   *config.Settings
	after time.Duration
	// slots holds what the last look saw of each worker slot; only the
	// watchdog's goroutine touches it.
	slots []watchSlot
	// stuck is the number of workers running a reported task at the last
	// look; reported counts the tasks reported.
	stuck    atomic.Int64
	reported atomic.Uint64
}

// watchSlot is what the watchdog knows of a worker slot's current task.
type watchSlot struct {
	ended    uint64 // the worker's Completed + Panicked + Other when seen
	seen     int64  // first seen running (the meter's clock); 0: not busy
	reported bool   // the task has been reported
}

// newWatchdog returns the watchdog of a pool metered by m, or nil if
// set has none.
func newWatchdog(set *config.Settings, m *Meter) *watchdog {
	if set.Watchdog.After <= 0 {
		return nil
	}
	return &watchdog{m: m, set: set, after: set.Watchdog.After, slots: make([]watchSlot, m.Slots())}
}

// run looks at the workers every quarter of the threshold until stop is
// closed.
func (d *watchdog) run(stop <-chan struct{}) {
	t := time.NewTicker(d.after / 4)
	defer t.Stop()
	for {
		select {
		case <-stop:
			d.stuck.Store(0)
			return
		case <-t.C:
			d.look()
		}
	}
}

// look compares each worker slot with the last look, and reports the
// tasks that have now run for the threshold. Stuck is updated before the
// reports, so that a handler reading Stats sees its task counted.
func (d *watchdog) look() {
	now := d.m.Now()
	stuck := int64(0)
	due := false
	for i := range d.slots {
		s := &d.slots[i]
		w := d.m.workers[i].Load()
		if w == nil || !w.busy.Load() {
			*s = watchSlot{}
			continue
		}
		ended := w.Completed.Load() + w.Panicked.Load() + w.Other.Load()
		if s.seen == 0 || ended != s.ended {
			*s = watchSlot{ended: ended, seen: now}
			continue
		}
		if time.Duration(now-s.seen) >= d.after {
			stuck++
			due = due || !s.reported
		}
	}
	d.stuck.Store(stuck)
	if !due {
		return
	}
	for i := range d.slots {
		s := &d.slots[i]
		if running := time.Duration(now - s.seen); s.seen != 0 && running >= d.after && !s.reported {
			s.reported = true
			d.reported.Add(1)
			d.set.TaskStuck(i, d.m.Time(s.seen), running)
		}
	}
}
