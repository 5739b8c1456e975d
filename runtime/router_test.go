package poolrt_test

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/config"
)

func TestResolveRouter(t *testing.T) {
	s, err := config.ResolveRouter(nil)
	require.NoError(t, err)
	assert.Equal(t, config.RouterSettings{Interval: poolrt.DefaultLendInterval}, s)
	s, err = config.ResolveRouter([]poolrt.RouterOption{poolrt.Lend(8), poolrt.LendEvery(time.Second)})
	require.NoError(t, err)
	assert.Equal(t, config.RouterSettings{Budget: 8, Interval: time.Second}, s)
	assert.Equal(t, "Lend(8)", poolrt.Lend(8).String())
	assert.Equal(t, "LendEvery(5ms)", poolrt.LendEvery(5*time.Millisecond).String())
	_, err = config.ResolveRouter([]poolrt.RouterOption{poolrt.LendEvery(time.Microsecond)})
	var ce *poolrt.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "LendEvery(1µs)", ce.Option)
}

func routerStats() poolrt.Stats {
	return poolrt.Stats{Completed: 12, Router: &poolrt.RouterStats{Unknown: 3, Classes: []poolrt.ClassStats{
		{Class: "tiny", Default: true, Stats: poolrt.Stats{Workers: 2, Busy: 1, QueueDepth: 4, Completed: 10,
			Wait: poolrt.Latency{Count: 10, P50: time.Microsecond, P99: 3 * time.Microsecond, Max: 4 * time.Microsecond}}},
		{Class: "io", Lent: true, Min: 2, Limit: 6, Stats: poolrt.Stats{Workers: 5, Completed: 2}},
	}}}
}

func TestRouterStatsString(t *testing.T) {
	s := routerStats()
	text := s.Router.String()
	assert.Equal(t, `router   2 classes, unknown 3
         class "tiny" (default), workers 2 (busy 1), queue 4, completed 10, wait p50 1µs, p99 3µs,
         max 4µs
         class "io", workers 5 (busy 0) of 2..6, queue 0, completed 2, wait none sampled`, text)
	s.Router.Budget, s.Router.Moves = 8, 5
	assert.Contains(t, s.String(), "\nrouter   2 classes, unknown 3, lending 8 workers, moves 5\n")
}

func TestRouterStatsLogValue(t *testing.T) {
	var b bytes.Buffer
	slog.New(slog.NewTextHandler(&b, nil)).Info("router", "stats", routerStats())
	out := b.String()
	assert.Contains(t, out, "stats.router.unknown=3")
	assert.Contains(t, out, "stats.router.tiny.queue_depth=4")
	assert.Contains(t, out, "stats.router.io.limit=6")
	assert.Contains(t, out, "stats.router.tiny.wait_p99=3µs")
}
