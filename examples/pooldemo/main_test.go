package main

import (
	"bytes"
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestDemo runs the whole demo with a small workload and checks what a
// new user reads: the width, the pool kinds shown, the labels, the
// spelling and the number format.
func TestDemo(t *testing.T) {
	var buf bytes.Buffer
	if err := run(&buf, 5000); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	t.Logf("output:\n%s", out)

	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if n := utf8.RuneCountInString(line); n > maxColumns {
			t.Errorf("line %d is %d columns wide, more than %d: %q", i+1, n, maxColumns, line)
		}
	}

	// Every kind of pool has a row, named by its pattern first.
	for _, kind := range []string{"fixed", "dynamic", "stealing", "priority", "deadline", "cost", "batch"} {
		if !regexp.MustCompile(`(?m)^ *` + kind + ` +[A-Z]\w*Pool`).MatchString(out) {
			t.Errorf("no row for the %s pool", kind)
		}
	}
	// So has a pool under the Reject policy, which rejected some
	// submissions and says it did so on purpose.
	if !regexp.MustCompile(`(?m)^ *\w+ +\w+Pool \(Reject\) `).MatchString(out) {
		t.Error("no row for a pool under the Reject policy")
	}
	if m := regexp.MustCompile(`rejected ([\d,]+) on purpose`).FindStringSubmatch(out); m == nil {
		t.Error(`no "rejected N on purpose"`)
	} else if m[1] == "0" {
		t.Error("the Reject pool rejected nothing")
	}

	if !strings.Contains(out, "deliberate") {
		t.Error(`the deliberate failures and rejections are not labeled "deliberate"`)
	}
	if regexp.MustCompile(`(?i)utilis`).MatchString(out) {
		t.Error(`the British spelling of utilization: write "utilization"`)
	}
	if m := regexp.MustCompile(`peak (\d+) workers, final size (\d+)`).FindStringSubmatch(out); m == nil {
		t.Error("the dynamic pool's peak and final size are not shown")
	} else if peak, _ := strconv.Atoi(m[1]); peak < 1 {
		t.Errorf("the dynamic pool's peak is %d", peak)
	}

	// The dynamic pool's tasks/s covers its burst, not the quiet after it.
	burst := regexp.MustCompile(`burst of ([\d,]+) tasks took (\S+);`).FindStringSubmatch(out)
	rate := regexp.MustCompile(`(?m)^ *dynamic +ResizeDynamicPool +(?:\S+ +){4}([\d,]+)$`).FindStringSubmatch(out)
	if burst == nil || rate == nil {
		t.Error("the dynamic pool's burst or tasks/s is missing")
	} else {
		tasks, err1 := strconv.Atoi(strings.ReplaceAll(burst[1], ",", ""))
		took, err2 := time.ParseDuration(burst[2])
		perSec, err3 := strconv.Atoi(strings.ReplaceAll(rate[1], ",", ""))
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatal(err)
		}
		// took has three significant digits: allow for its rounding.
		if got := float64(perSec) * took.Seconds(); math.Abs(got-float64(tasks)) > 0.01*float64(tasks)+1 {
			t.Errorf("dynamic: %d tasks/s × %v = %.0f tasks, want the burst's %d", perSec, took, got, tasks)
		}
	}

	// Numbers of 1,000 and more have thousands separators: no run of
	// four digits, and at least one separated number.
	if m := regexp.MustCompile(`\d{4,}`).FindAllString(out, -1); m != nil {
		t.Errorf("numbers without thousands separators: %q", m)
	}
	if !regexp.MustCompile(`\d,\d{3}\b`).MatchString(out) {
		t.Error("no number with a thousands separator")
	}
}

func TestCommas(t *testing.T) {
	for _, c := range []struct {
		v    int64
		want string
	}{
		{0, "0"}, {7, "7"}, {999, "999"}, {1000, "1,000"}, {12345, "12,345"},
		{200_000, "200,000"}, {1_234_567, "1,234,567"}, {-1234, "-1,234"},
		{-999, "-999"}, {199_999_990_000_000, "199,999,990,000,000"},
	} {
		if got := commas(c.v); got != c.want {
			t.Errorf("commas(%d) = %q, want %q", c.v, got, c.want)
		}
	}
	if got, want := commas(uint64(18_446_744_073_709_551_615)), "18,446,744,073,709,551,615"; got != want {
		t.Errorf("commas(MaxUint64) = %q, want %q", got, want)
	}
}

func TestOrdinal(t *testing.T) {
	for n, want := range map[int]string{1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th",
		12: "12th", 13: "13th", 21: "21st", 112: "112th", 1000: "1,000th"} {
		if got := ordinal(n); got != want {
			t.Errorf("ordinal(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestWrap(t *testing.T) {
	in := "  first " + strings.Repeat("word ", 30) + "end\nshort\n"
	got := wrap(in, 40)
	if strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(in), " ") {
		t.Errorf("wrap changed the words:\n%s", got)
	}
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	for _, line := range lines {
		if n := utf8.RuneCountInString(line); n > 40 {
			t.Errorf("%d columns: %q", n, line)
		}
	}
	for _, line := range lines[1 : len(lines)-1] {
		if !strings.HasPrefix(line, "    ") {
			t.Errorf("continuation not indented two more spaces: %q", line)
		}
	}
	if lines[len(lines)-1] != "short" {
		t.Errorf("last line %q, want %q", lines[len(lines)-1], "short")
	}
	// A word longer than the width is left whole.
	long := strings.Repeat("x", 50)
	if got := wrap(long+"\n", 40); got != long+"\n" {
		t.Errorf("wrap(long word) = %q", got)
	}
}
