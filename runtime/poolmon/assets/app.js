// The live page of poolgen's pool monitor: it loads history.json, follows
// the server-sent events stream for each new sample, and draws every chart
// itself on canvases (no library: the page must work offline).
"use strict";

const state = { seq: -1, interval: 1, window: 900, pools: new Map(), alerts: [], loading: null };
const $ = (id) => document.getElementById(id);
const NS = 1e9;

// ---- formatting ----

function fmtNum(v) {
  if (v == null || !isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(1) + "G";
  if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
  if (a >= 100 || Number.isInteger(v)) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}
function fmtDur(ns) {
  if (ns == null || !isFinite(ns)) return "–";
  if (ns === 0) return "0";
  const a = Math.abs(ns);
  if (a < 1e3) return ns.toFixed(0) + "ns";
  if (a < 1e6) return trim(ns / 1e3) + "µs";
  if (a < 1e9) return trim(ns / 1e6) + "ms";
  return trim(ns / 1e9) + "s";
}
function trim(v) { return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2); }
function fmtPct(v) { return v == null || !isFinite(v) ? "–" : (v * 100).toFixed(v >= 0.995 || v === 0 ? 0 : 1) + "%"; }
function fmtClock(ms) { return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }); }
function fmtAgo(ms) {
  const s = Math.round(ms / 1000);
  if (s < 90) return s + "s";
  if (s < 5400) return Math.round(s / 60) + "m";
  return (s / 3600).toFixed(1) + "h";
}
const units = { rate: fmtNum, count: fmtNum, dur: fmtDur, pct: fmtPct };

// Go encodes times with nanoseconds; Date.parse wants at most milliseconds.
function parseTime(s) { return Date.parse(s.replace(/(\.\d{3})\d+/, "$1")); }

// ---- data ----

function prepare(s) {
  s.t = parseTime(s.at);
  const r = (n) => (n || 0) / s.seconds;
  s.completedRate = r(s.completed);
  s.submittedRate = r(s.submitted);
  s.failedRate = r(s.failed);
  s.panickedRate = r(s.panicked);
  s.rejectedRate = r(s.rejected);
  s.stealRate = r(s.steals);
  s.stolenRate = r(s.stolenTasks);
  s.batchRate = r(s.batches);
  return s;
}

function poolFor(name) {
  let p = state.pools.get(name);
  if (!p) {
    p = { name, samples: [], events: [], ui: null };
    state.pools.set(name, p);
  }
  return p;
}

async function load() {
  if (state.loading) return state.loading;
  state.loading = (async () => {
    try {
      const res = await fetch("history.json", { cache: "no-store" });
      if (!res.ok) throw new Error("history.json: " + res.status);
      const doc = await res.json();
      state.seq = doc.seq;
      state.interval = doc.interval;
      state.window = doc.window;
      $("interval").textContent = fmtDur(doc.interval * NS);
      $("window").textContent = fmtAgo(doc.window * 1000);
      const names = new Set();
      for (const s of doc.pools) {
        names.add(s.name);
        const p = poolFor(s.name);
        Object.assign(p, { pattern: s.pattern, task: s.task, gone: s.gone });
        p.samples = s.samples.map(prepare);
        p.events = (s.events || []).map((e) => ({ ...e, t: parseTime(e.At) }));
      }
      dropExcept(names);
      state.alerts = doc.alerts || [];
      schedule();
    } finally {
      state.loading = null;
    }
  })();
  return state.loading;
}

function dropExcept(names) {
  for (const [name, p] of state.pools) {
    if (!names.has(name)) {
      if (p.ui) p.ui.root.remove();
      state.pools.delete(name);
    }
  }
}

function apply(u) {
  if (u.seq <= state.seq) return; // already in the history we loaded
  if (u.seq !== state.seq + 1) { load().catch(report); return; } // missed some: reload
  state.seq = u.seq;
  const names = new Set();
  for (const x of u.pools) {
    names.add(x.name);
    const p = poolFor(x.name);
    Object.assign(p, { pattern: x.pattern, task: x.task, gone: x.gone });
    if (x.sample) {
      const s = prepare(x.sample);
      const last = p.samples[p.samples.length - 1];
      if (!last || s.t > last.t) p.samples.push(s);
    }
    for (const e of x.events || []) {
      const t = parseTime(e.At);
      if (!p.events.length || t > p.events[p.events.length - 1].t) p.events.push({ ...e, t });
    }
    const cut = (p.samples.length ? p.samples[p.samples.length - 1].t : 0) - state.window * 1000;
    while (p.samples.length && p.samples[0].t < cut) p.samples.shift();
    while (p.events.length && p.events[0].t < cut) p.events.shift();
  }
  dropExcept(names);
  state.alerts = u.alerts || [];
  schedule();
}

function report(err) { setStatus("down", "error: " + (err && err.message ? err.message : err)); }

function setStatus(cls, text) {
  const el = $("status");
  el.className = "status " + cls;
  el.textContent = text;
}

function connect() {
  if (!window.EventSource) { poll(); return; }
  const es = new EventSource("events");
  es.addEventListener("open", () => {
    setStatus("live", "live");
    load().catch(report); // the stream may have missed samples while down
  });
  es.addEventListener("error", () => setStatus("down", "reconnecting…"));
  es.addEventListener("update", (ev) => {
    try { apply(JSON.parse(ev.data)); } catch (err) { report(err); }
  });
}

// poll is the fallback for a browser without server-sent events.
function poll() {
  setStatus("live", "polling");
  load().catch(report).finally(() => setTimeout(poll, Math.max(state.interval, 1) * 1000));
}

// ---- page ----

let frame = 0;
function schedule() {
  if (!frame) frame = requestAnimationFrame(() => { frame = 0; render(); });
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

// The charts of a pool: which fields, in which unit. Extra charts appear
// for the patterns that have the data.
function chartSpecs(p) {
  const specs = [
    { id: "throughput", title: "Throughput (tasks/s)", unit: "rate", lines: [
      { label: "completed", get: (s) => s.completedRate },
      { label: "submitted", get: (s) => s.submittedRate },
      { label: "failed", get: (s) => s.failedRate + s.panickedRate, color: "--c3" },
      { label: "rejected", get: (s) => s.rejectedRate, color: "--c5" }] },
    { id: "queue", title: "Queue depth", unit: "count", lines: [
      { label: "queued", get: (s) => s.queueDepth }] },
    { id: "workers", title: "Workers", unit: "count", events: true, lines: [
      { label: "workers", get: (s) => s.workers },
      { label: "busy", get: (s) => s.busy }].concat(p.pattern === "dynamic" ? [
      { label: "min", get: (s) => s.min, dash: true, color: "--axis" },
      { label: "max", get: (s) => s.max, dash: true, color: "--axis" }] : []) },
    { id: "utilization", title: "Utilization", unit: "pct", max: 1, lines: [
      { label: "busy time", get: (s) => s.utilization, color: "--c4" }] },
    { id: "wait", title: "Queue wait", unit: "dur", lines: [
      { label: "p50", get: (s) => s.waitP50 },
      { label: "p99", get: (s) => s.waitP99 }] },
    { id: "run", title: "Run time", unit: "dur", lines: [
      { label: "p50", get: (s) => s.runP50 },
      { label: "p99", get: (s) => s.runP99 }] },
  ];
  if (p.pattern === "stealing") {
    specs.push({ id: "steals", title: "Steals (/s)", unit: "rate", lines: [
      { label: "steals", get: (s) => s.stealRate },
      { label: "tasks stolen", get: (s) => s.stolenRate }] });
  }
  if (p.pattern === "priority") {
    const last = p.samples[p.samples.length - 1];
    const bands = (last && last.bands) || [];
    specs.push({ id: "bands", title: "Queue wait p99 by band", unit: "dur", lines: bands.map((b, i) => ({
      label: bandLabel(b), get: (s) => (s.bands && s.bands[i] ? s.bands[i].waitP99 : null) })) });
  }
  if (p.pattern === "router") {
    const last = p.samples[p.samples.length - 1];
    const classes = (last && last.classes) || [];
    const byClass = (f) => classes.map((c, i) => ({
      label: c.class, get: (s) => (s.classes && s.classes[i] ? f(s.classes[i], s) : null) }));
    specs.push({ id: "class-workers", title: "Workers by class", unit: "count", lines: byClass((c) => c.workers) });
    specs.push({ id: "class-queue", title: "Queue depth by class", unit: "count", lines: byClass((c) => c.queueDepth) });
    specs.push({ id: "class-throughput", title: "Completed by class (tasks/s)", unit: "rate", lines: byClass((c, s) => c.completed / s.seconds) });
  }
  if (p.pattern === "batch") {
    specs.push({ id: "flushes", title: "Batch flushes (per interval)", unit: "count", lines: [
      { label: "full", get: (s) => s.flushFull || 0 },
      { label: "linger", get: (s) => s.flushLinger || 0 },
      { label: "idle", get: (s) => s.flushIdle || 0 },
      { label: "shutdown", get: (s) => s.flushShutdown || 0 }] });
  }
  return specs;
}

function bandLabel(b) {
  const big = 4e18; // beyond it a bound is ±∞
  const lo = b.lo < -big ? "−∞" : String(b.lo);
  const hi = b.hi > big ? "+∞" : String(b.hi);
  return lo === hi ? "rank " + lo : lo + " … " + hi;
}

const tileSpecs = [
  { k: "throughput", label: "Completed /s", f: (s) => fmtNum(s.completedRate) },
  { k: "completed", label: "Completed", f: (s, p, shown) => fmtNum(shown.reduce((a, x) => a + x.completed, 0)), sub: "in view" },
  { k: "queue", label: "Queue", f: (s) => fmtNum(s.queueDepth), sub: (s) => "of " + fmtNum(s.queueCap) },
  { k: "workers", label: "Busy / workers", f: (s) => s.busy + " / " + s.workers },
  { k: "utilization", label: "Utilization", f: (s) => fmtPct(s.utilization) },
  { k: "wait", label: "Wait p99", f: (s) => fmtDur(s.waitP99) },
  { k: "run", label: "Run p99", f: (s) => fmtDur(s.runP99) },
  { k: "failed", label: "Failed /s", f: (s) => fmtNum(s.failedRate + s.panickedRate) },
];

function buildPool(p) {
  const root = el("section", "pool");
  root.dataset.pool = p.name;
  const head = el("header");
  const h = el("h2", null, p.name);
  const badge = el("span", "badge", p.pattern);
  const task = el("span", "task", p.task);
  const gone = el("span", "badge bad", "shut down");
  head.append(h, badge, task, gone);
  const tiles = el("div", "tiles");
  const tileEls = {};
  for (const t of tileSpecs) {
    const box = el("div", "tile");
    const v = el("div", "v", "–");
    v.dataset.k = t.k;
    box.append(el("div", "k", t.label), v);
    tiles.append(box);
    tileEls[t.k] = v;
  }
  const charts = el("div", "charts");
  root.append(head, tiles, charts);
  p.ui = { root, badge, task, gone, tileEls, charts, chartMap: new Map(), key: "" };
  return root;
}

function render() {
  const main = $("pools");
  $("empty").hidden = state.pools.size > 0;
  let end = 0, first = Infinity;
  for (const p of state.pools.values()) {
    if (p.samples.length) {
      end = Math.max(end, p.samples[p.samples.length - 1].t);
      first = Math.min(first, p.samples[0].t);
    }
  }
  // Show the span asked for, or less while the history is younger, so
  // that a fresh process does not draw its first seconds as a sliver.
  const span = Number($("span").value) || state.window;
  const least = Math.max(10 * state.interval * 1000, 10000);
  const start = Math.min(Math.max(end - span * 1000, first - state.interval * 1000), end - least);
  const firing = new Set(state.alerts.map((a) => a.pool));
  const names = [...state.pools.keys()].sort();
  for (const name of names) {
    const p = state.pools.get(name);
    if (!p.ui) buildPool(p);
    main.append(p.ui.root); // keeps pools in name order
    p.ui.badge.textContent = p.pattern;
    p.ui.task.textContent = p.task;
    p.ui.gone.hidden = !p.gone;
    p.ui.root.classList.toggle("gone", !!p.gone);
    p.ui.root.classList.toggle("alerting", firing.has(name));
    const shown = p.samples.filter((s) => s.t > start);
    const last = p.samples[p.samples.length - 1];
    for (const t of tileSpecs) {
      const v = p.ui.tileEls[t.k];
      if (!last) { v.textContent = "–"; continue; }
      v.textContent = t.f(last, p, shown);
      if (t.sub) v.append(" ", el("small", null, typeof t.sub === "function" ? t.sub(last) : t.sub));
    }
    const specs = chartSpecs(p);
    const key = specs.map((c) => c.id + ":" + c.lines.map((l) => l.label).join(",")).join(";");
    if (key !== p.ui.key) { // the set of charts changed (first render, new bands or classes)
      p.ui.key = key;
      p.ui.charts.replaceChildren();
      p.ui.chartMap.clear();
      for (const spec of specs) {
        const c = new Chart(spec);
        p.ui.chartMap.set(spec.id, c);
        p.ui.charts.append(c.root);
      }
    }
    for (const spec of specs) {
      const c = p.ui.chartMap.get(spec.id);
      c.spec = spec;
      c.update(shown, start, end, spec.events ? p.events.filter((e) => e.t > start) : []);
    }
  }
  renderAlerts();
  document.body.dataset.seq = String(state.seq);
}

function renderAlerts() {
  const box = $("alerts");
  box.hidden = state.alerts.length === 0;
  if (box.hidden) return;
  const ul = el("ul");
  for (const a of state.alerts) {
    const since = parseTime(a.since);
    const at = parseTime(a.at);
    const v = a.rule === "wait-p99" ? fmtDur(a.value * NS) : a.rule === "saturation" || a.rule === "failure-rate" ? fmtPct(a.value) : fmtNum(a.value);
    ul.append(el("li", null, `${a.pool}: ${a.rule} (${v}) since ${fmtClock(since)}, ${fmtAgo(at - since)}`));
  }
  box.replaceChildren(el("h2", null, `${state.alerts.length} alert${state.alerts.length > 1 ? "s" : ""} firing`), ul);
}

// ---- charts ----

let palette = {};
function readPalette() {
  const cs = getComputedStyle(document.documentElement);
  for (const v of ["--grid", "--axis", "--text", "--muted", "--bad", "--c1", "--c2", "--c3", "--c4", "--c5", "--c6", "--c7", "--c8"]) {
    palette[v] = cs.getPropertyValue(v).trim();
  }
}
const defaultColors = ["--c1", "--c2", "--c4", "--c5", "--c6", "--c7", "--c8", "--c3"];

// niceStep returns a round step for about n ticks up to max.
function niceStep(max, n, unit) {
  if (unit === "dur") { // durations: 1, 2, 5 × a power of ten nanoseconds
    const raw = max / n;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
  }
  const raw = max / n;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw);
  return unit === "count" ? Math.max(1, Math.round(step)) : step;
}

class Chart {
  constructor(spec) {
    this.spec = spec;
    this.root = el("div", "chart");
    this.root.append(el("h3", null, spec.title));
    this.legend = el("div", "legend");
    this.plot = el("div", "plot");
    this.canvas = el("canvas");
    this.canvas.dataset.chart = spec.id;
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", spec.title);
    this.tip = el("div", "tip");
    this.tip.hidden = true;
    this.plot.append(this.canvas, this.tip);
    this.root.append(this.legend, this.plot);
    this.data = [];
    this.hover = null;
    this.canvas.addEventListener("mousemove", (e) => { this.hover = e.offsetX; this.draw(); });
    this.canvas.addEventListener("mouseleave", () => { this.hover = null; this.tip.hidden = true; this.draw(); });
    new ResizeObserver(() => this.draw()).observe(this.canvas);
  }

  color(line, i) { return palette[line.color || defaultColors[i % defaultColors.length]] || "#888"; }

  update(samples, start, end, events) {
    Object.assign(this, { data: samples, start, end, events });
    const fmt = units[this.spec.unit];
    const last = samples[samples.length - 1];
    this.legend.replaceChildren(...this.spec.lines.map((l, i) => {
      const s = el("span");
      const sw = el("i");
      sw.style.background = this.color(l, i);
      s.append(sw, l.label + " " + (last ? fmt(l.get(last)) : "–"));
      return s;
    }));
    this.draw();
  }

  draw() {
    const c = this.canvas, dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth, h = c.clientHeight;
    if (!w || !h) return;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const { spec, data, start, end } = this;
    const fmt = units[spec.unit];
    const padL = 46, padR = 8, padT = 6, padB = 18;
    const pw = w - padL - padR, ph = h - padT - padB;
    let max = spec.max || 0;
    if (!spec.max) {
      for (const s of data) for (const l of spec.lines) { const v = l.get(s); if (v > max) max = v; }
    }
    if (!(max > 0)) max = spec.unit === "dur" ? 1e6 : 1;
    const step = niceStep(max, 3, spec.unit);
    const top = spec.max || Math.ceil(max / step) * step;
    const x = (t) => padL + ((t - start) / (end - start || 1)) * pw;
    const y = (v) => padT + ph - (Math.min(v, top) / top) * ph;

    g.font = "11px system-ui, sans-serif";
    g.lineWidth = 1;
    g.textBaseline = "middle";
    g.textAlign = "right";
    for (let v = 0; v <= top + step / 1e6; v += step) {
      const yy = Math.round(y(v)) + 0.5;
      g.strokeStyle = palette["--grid"];
      g.beginPath(); g.moveTo(padL, yy); g.lineTo(w - padR, yy); g.stroke();
      g.fillStyle = palette["--axis"];
      g.fillText(fmt(v), padL - 5, yy);
    }
    g.textAlign = "center";
    g.textBaseline = "top";
    const span = end - start;
    for (const f of [0, 0.5, 1]) {
      const t = start + f * span;
      g.textAlign = f === 0 ? "left" : f === 1 ? "right" : "center";
      g.fillText(f === 1 ? fmtClock(t) : "−" + fmtAgo(end - t), padL + f * pw, padT + ph + 4);
    }

    for (const e of this.events || []) { // scaling events: up green, down amber
      const xx = Math.round(x(e.t)) + 0.5;
      g.strokeStyle = e.To > e.From ? palette["--c4"] : palette["--c2"];
      g.setLineDash([2, 3]);
      g.beginPath(); g.moveTo(xx, padT); g.lineTo(xx, padT + ph); g.stroke();
      g.setLineDash([]);
    }

    const gap = state.interval * 2500; // a missing sample breaks the line
    spec.lines.forEach((l, i) => {
      g.strokeStyle = this.color(l, i);
      g.lineWidth = 1.6;
      g.setLineDash(l.dash ? [4, 3] : []);
      g.beginPath();
      let prev = null;
      for (const s of data) {
        const v = l.get(s);
        if (v == null || !isFinite(v)) { prev = null; continue; }
        const xx = x(s.t), yy = y(v);
        if (prev === null || s.t - prev > gap) g.moveTo(xx, yy); else g.lineTo(xx, yy);
        prev = s.t;
      }
      if (data.length === 1) { const v = l.get(data[0]); g.rect(x(data[0].t) - 1, y(v) - 1, 2, 2); }
      g.stroke();
    });
    g.setLineDash([]);

    if (this.hover != null && data.length) {
      const t = start + ((this.hover - padL) / pw) * span;
      let best = data[0];
      for (const s of data) if (Math.abs(s.t - t) < Math.abs(best.t - t)) best = s;
      const xx = Math.round(x(best.t)) + 0.5;
      g.strokeStyle = palette["--muted"];
      g.lineWidth = 1;
      g.beginPath(); g.moveTo(xx, padT); g.lineTo(xx, padT + ph); g.stroke();
      this.tip.textContent = fmtClock(best.t) + "  " + spec.lines.map((l) => l.label + " " + fmt(l.get(best))).join("  ");
      this.tip.hidden = false;
      const left = xx + 8 + this.tip.offsetWidth > w ? xx - 8 - this.tip.offsetWidth : xx + 8;
      this.tip.style.left = Math.max(0, left) + "px";
    }
  }
}

// ---- start ----

readPalette();
window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => { readPalette(); schedule(); });
$("span").addEventListener("change", schedule);
load().then(connect, (err) => { report(err); connect(); });
