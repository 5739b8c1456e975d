// Package browsertest loads the pool monitor's page in a real browser:
// what the Go tests of package poolmon cannot see (the script runs, the
// charts draw and move, nothing logs an error) is checked here. It is a
// module of its own so that the browser driver never becomes a dependency
// of poolgen.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// chromium returns the path of a Chromium or Chrome binary. Without one
// the test is skipped, unless POOLGEN_REQUIRE_BROWSER=1 says that this
// run exists to test the page (CI): then it fails.
func chromium(t *testing.T) string {
	if p := os.Getenv("POOLGEN_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("POOLGEN_REQUIRE_BROWSER") == "1" {
		t.Fatal("no Chromium found (looked for chromium, google-chrome, headless-shell; set POOLGEN_CHROMIUM) and POOLGEN_REQUIRE_BROWSER=1")
	}
	t.Skip("no Chromium found; install it (apt-get install chromium) or set POOLGEN_CHROMIUM")
	return ""
}

// artifacts returns where the screenshots go: POOLGEN_ARTIFACTS, or a
// directory that lives as long as the test.
func artifacts(t *testing.T) string {
	dir := os.Getenv("POOLGEN_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shown is a pool the page must show.
type shown struct{ name, pattern, task string }

// snapshot is what the page shows at one moment.
type snapshot struct {
	Seq    int               `json:"seq"`
	Status string            `json:"status"`
	Names  []string          `json:"names"`
	Heads  []string          `json:"heads"`
	Tiles  map[string]string `json:"tiles"`  // pool/key → text
	Charts map[string]ink    `json:"charts"` // pool/chart → pixels
	Width  int               `json:"width"`  // of the document, for overflow
	Bg     string            `json:"bg"`
}

type ink struct {
	Pixels int `json:"pixels"` // drawn (not transparent)
	Hash   int `json:"hash"`   // of the drawn pixels
	Width  int `json:"width"`
}

const snapshotJS = `(() => {
  const out = {seq: Number(document.body.dataset.seq || -1), status: document.getElementById("status").textContent,
    names: [], heads: [], tiles: {}, charts: {}, width: document.documentElement.scrollWidth,
    bg: getComputedStyle(document.body).backgroundColor};
  for (const p of document.querySelectorAll("section.pool")) {
    const name = p.dataset.pool;
    out.names.push(p.querySelector("h2").textContent);
    out.heads.push(p.querySelector("header").textContent);
    for (const v of p.querySelectorAll("[data-k]")) out.tiles[name + "/" + v.dataset.k] = v.textContent;
    for (const c of p.querySelectorAll("canvas[data-chart]")) {
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let pixels = 0, hash = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) { pixels++; hash = (hash * 31 + d[i - 3] * 7 + d[i - 2] * 3 + d[i - 1] + i) % 1000000007; }
      out.charts[name + "/" + c.dataset.chart] = {pixels, hash, width: c.width};
    }
  }
  return out;
})()`

func TestDashboard(t *testing.T) {
	exe := chromium(t)
	url, pools := servePools(t)
	var names []string
	for _, p := range pools {
		names = append(names, p.name)
	}
	dir := artifacts(t)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 1500))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	// Every console error, uncaught exception and browser log error (a
	// resource that failed to load, a blocked script) fails the test.
	var mu sync.Mutex
	var problems []string
	messages := chromedp.Console(bctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
				mu.Unlock()
			}
		}
	})
	defer wg.Wait()
	defer cancelBrowser()

	first := fmt.Sprintf(`section.pool[data-pool=%q] canvas[data-chart="throughput"]`, names[0])
	must(t, chromedp.Do(bctx, chromedp.Navigate(url), chromedp.WaitVisible(first)))
	// Wait until each pool has samples with completions to show.
	waitFor(t, bctx, fmt.Sprintf(`[...document.querySelectorAll('[data-k="completed"]')].filter(e => /^[1-9]/.test(e.textContent)).length >= %d`, len(names)))
	before := snap(t, bctx)
	waitFor(t, bctx, fmt.Sprintf(`Number(document.body.dataset.seq) >= %d`, before.Seq+3))
	// Hover a chart: the tooltip code runs too.
	rect, err := chromedp.Run(bctx, chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()`, first)))
	must(t, err)
	must(t, chromedp.Do(bctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, rect[0]+rect[2]*0.8, rect[1]+rect[3]/2)))
	if tip, err := chromedp.Run(bctx, chromedp.Evaluate[string](`[...document.querySelectorAll(".tip")].filter(e => !e.hidden).map(e => e.textContent).join()`)); err != nil || !strings.Contains(tip, "completed") {
		t.Errorf("hovering the throughput chart shows %q (%v), want its values", tip, err)
	}
	must(t, chromedp.Do(bctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 1, 1))) // tooltip off for the screenshots
	after := snap(t, bctx)

	if !slices.Equal(after.Names, names) {
		t.Errorf("pools shown: %q, want %q", after.Names, names)
	}
	if after.Status != "live" {
		t.Errorf("status %q, want live", after.Status)
	}
	for i, p := range pools {
		name := p.name
		if h := after.Heads[i]; !containsAll(h, p.name, p.pattern, p.task) {
			t.Errorf("header of %s: %q, want its pattern %s and task type %s", name, h, p.pattern, p.task)
		}
		k := name + "/completed"
		if before.Tiles[k] == after.Tiles[k] {
			t.Errorf("%s: completed in view stayed %q over %d samples", name, after.Tiles[k], after.Seq-before.Seq)
		}
		for _, key := range []string{"throughput", "workers", "utilization", "wait", "run", "queue"} {
			if v := after.Tiles[name+"/"+key]; v == "" || v == "–" {
				t.Errorf("%s: tile %s shows %q", name, key, v)
			}
		}
		c := name + "/throughput"
		if after.Charts[c].Pixels < 1000 {
			t.Errorf("%s: the throughput chart drew %d pixels", name, after.Charts[c].Pixels)
		}
		if after.Charts[c].Hash == before.Charts[c].Hash {
			t.Errorf("%s: the throughput chart did not change over %d samples", name, after.Seq-before.Seq)
		}
	}
	for _, p := range pools {
		if p.pattern != "router" {
			continue
		}
		for _, c := range []string{"class-workers", "class-queue", "class-throughput"} {
			if after.Charts[p.name+"/"+c].Pixels == 0 {
				t.Errorf("router %s: chart %s is empty", p.name, c)
			}
		}
	}
	save(t, bctx, filepath.Join(dir, "dashboard.png"))

	// Dark theme: the page follows the browser's preference.
	must(t, chromedp.Do(bctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	})))
	waitFor(t, bctx, fmt.Sprintf(`Number(document.body.dataset.seq) >= %d`, after.Seq+1))
	dark := snap(t, bctx)
	if dark.Bg == after.Bg {
		t.Errorf("dark theme: the background stayed %s", dark.Bg)
	}
	save(t, bctx, filepath.Join(dir, "dashboard-dark.png"))

	// A phone's width: no sideways scrolling.
	must(t, chromedp.Do(bctx, chromedp.EmulateViewport(400, 900)))
	waitFor(t, bctx, fmt.Sprintf(`Number(document.body.dataset.seq) >= %d`, dark.Seq+1))
	narrow := snap(t, bctx)
	if narrow.Width > 400 {
		t.Errorf("at 400px the page is %dpx wide", narrow.Width)
	}
	for c, v := range narrow.Charts {
		if v.Pixels == 0 {
			t.Errorf("at 400px chart %s is empty", c)
		}
	}
	save(t, bctx, filepath.Join(dir, "dashboard-narrow.png"))

	cancelBrowser()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser console: %s", p)
	}
	t.Logf("screenshots in %s", dir)
}

func snap(t *testing.T, ctx context.Context) snapshot {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[snapshot](snapshotJS))
	must(t, err)
	return s
}

func waitFor(t *testing.T, ctx context.Context, cond string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil {
		t.Fatalf("waiting for %s: %v", cond, err)
	}
}

func save(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must(t, err)
	must(t, os.WriteFile(path, png, 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
