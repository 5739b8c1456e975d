// Package poolmon shows poolgen's pools to the people who run them: the
// pools that have a name (poolrt.Name, and routers named with
// poolrt.RouterName), their statistics now and over the last minutes.
//
// [Pools] reads every named pool's Stats once. [Start] starts a [Monitor]:
// a sampler that reads them every interval into a bounded history of
// per-interval samples (rates, gauges, latency percentiles of the
// interval, scaling events, steals, per-band waits, batch flushes, a
// router's classes),
// checks degradation [Rule]s on each new sample and calls back with
// [Alert]s. The Monitor is an http.Handler for a live page, mounted like
// net/http/pprof, with the history as JSON and CSV. [LimitsHandler] lets
// an autoscaler change a dynamic pool's limits over HTTP.
//
// Sampling only calls each pool's Stats method, which reads counters the
// workers keep anyway: a monitor adds nothing to a pool's hot path.
//
// # Memory
//
// A pool's history holds Window/Interval samples (900 by default) of 336
// bytes each on 64-bit platforms, plus 48 bytes per band for a priority
// pool and 56 per class for a router, and its latest 64 scaling events
// (184 bytes each): about 310 KB per pool by default, 3 MB for a priority
// pool with the most bands (64).
// A pool that shuts down keeps its history, marked gone, until its last
// sample is older than the window; then it is dropped.
package poolmon
