package poolmon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/registry"
	"github.com/poolgen/poolgen/templates"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// post sends a limits request from addr, for host 127.0.0.1:8080 unless
// header names another Host, and returns the status and the decoded JSON
// answer.
func post(t *testing.T, h http.Handler, addr, ctype, body string, header ...string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest("POST", "http://127.0.0.1:8080/limits", strings.NewReader(body))
	r.RemoteAddr = addr
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	for i := 0; i < len(header); i += 2 {
		if header[i] == "Host" {
			r.Host = header[i+1]
			continue
		}
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	var got map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got), w.Body.String())
	if w.Code != http.StatusOK {
		assert.True(t, strings.HasPrefix(got["error"].(string), "poolgen: "), "%v", got)
	}
	return w.Code, got
}

const local = "127.0.0.1:40000"

// limitsPools starts a dynamic and a fixed pool, named, and registers a
// closed and a broken one.
func limitsPools(t *testing.T) *templates.DynamicPool[sleepTask] {
	dyn, err := templates.NewDynamicPool[sleepTask](poolrt.Name("dyn"), poolrt.WorkerLimits(1, 8))
	require.NoError(t, err)
	fixed, err := templates.NewFixedPool[sleepTask](poolrt.Name("fixed"), poolrt.Workers(1))
	require.NoError(t, err)
	closed, err := templates.NewDynamicPool[sleepTask](poolrt.WorkerLimits(1, 2))
	require.NoError(t, err)
	require.NoError(t, closed.Shutdown(context.Background()))
	t.Cleanup(func() {
		dyn.Shutdown(context.Background())
		fixed.Shutdown(context.Background())
	})
	// A pool between Shutdown and its last worker's exit is still listed
	// but refuses new limits; so does one whose SetLimits fails oddly.
	for _, e := range []*registry.Entry{
		{Name: "closed", Pattern: "dynamic", Stats: closed.Stats, SetLimits: closed.SetLimits},
		{Name: "broken", Pattern: "dynamic", Stats: dyn.Stats, SetLimits: func(int, int) error { return errors.New("poolgen: broken") }},
	} {
		require.NoError(t, registry.Add(e))
		t.Cleanup(func() { registry.Remove(e) })
	}
	return dyn
}

func TestLimits(t *testing.T) {
	dyn := limitsPools(t)
	h := LimitsHandler("")

	code, got := post(t, h, local, "application/json", `{"pool": "dyn", "min": 2, "max": 6}`)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, map[string]any{"pool": "dyn", "min": 2.0, "max": 6.0}, got)
	lo, hi := dyn.Limits()
	assert.Equal(t, [2]int{2, 6}, [2]int{lo, hi}, "the pool's limits changed")

	code, _ = post(t, h, "[::1]:5", "application/json; charset=utf-8", `{"pool": "dyn", "min": 0, "max": 3}`)
	assert.Equal(t, http.StatusOK, code)
	lo, hi = dyn.Limits()
	assert.Equal(t, [2]int{0, 3}, [2]int{lo, hi})

	// The requests are checked the same with a token and without one, where
	// only JSON is served.
	withToken := LimitsHandler("s3cret")
	for _, c := range []struct {
		ctype, body string
		status      int
		want        string
	}{
		{"application/json", `{"pool": "dyn", "min": 1`, 400, "want JSON"},
		{"application/json", `{"pool": "dyn", "min": 1, "max": 2, "extra": 1}`, 400, "unknown field"},
		{"application/json", `{"pool": "dyn", "min": 1.5, "max": 2}`, 400, "want JSON"},
		{"application/json", `{"min": 1, "max": 2}`, 400, "pool is missing"},
		{"application/json", `{"pool": "dyn", "max": 2}`, 400, "min and max are both required"},
		{"application/json", `{"pool": "dyn", "min": -1, "max": 2}`, 400, "cannot be negative"},
		{"application/json", `{"pool": "dyn", "min": 3, "max": 2}`, 400, "min 3 is above max 2"},
		{"application/json", `{"pool": "dyn", "min": 0, "max": 0}`, 400, "at least 1 worker"},
		{"application/json", `{"pool": "dyn", "min": 1, "max": 9}`, 400, "at most 8 workers"},
		{"application/json", `{"pool": "nope", "min": 1, "max": 2}`, 404, `no running pool named "nope"`},
		{"application/json", `{"pool": "fixed", "min": 1, "max": 2}`, 409, "only dynamic pools"},
		{"application/json", `{"pool": "closed", "min": 1, "max": 2}`, 409, "shutting down"},
		{"application/json", `{"pool": "broken", "min": 1, "max": 2}`, 500, "poolgen: broken"},
		{"", "pool=dyn&min=-1&max=2", 400, "cannot be negative"},
		{"", "pool=dyn&min=3&max=2", 400, "min 3 is above max 2"},
		{"", "pool=dyn&min=x&max=2", 400, `min="x" is not an integer`},
		{"", "pool=dyn&min=%zz", 400, "limits request"},
		{"", "pool=dyn&min=0&max=0", 400, "at least 1 worker"},
		{"application/x-www-form-urlencoded", "pool=dyn&min=1&max=9", 400, "at most 8 workers"},
		{"", "pool=fixed&min=1&max=2", 409, "only dynamic pools"},
		{"", "pool=closed&min=1&max=2", 409, "shutting down"},
		{"", "pool=broken&min=1&max=2", 500, "poolgen: broken"},
		{"text/plain", "pool=dyn&min=1&max=2", 415, "send application/json or"},
	} {
		code, got := post(t, withToken, "192.0.2.1:5", c.ctype, c.body, "Authorization", "Bearer s3cret")
		assert.Equal(t, c.status, code, "with a token: %s", c.body)
		assert.Contains(t, got["error"], c.want, "with a token: %s", c.body)
		if c.ctype == "application/json" {
			code, got := post(t, h, local, c.ctype, c.body)
			assert.Equal(t, c.status, code, "loopback: %s", c.body)
			assert.Contains(t, got["error"], c.want, "loopback: %s", c.body)
		}
	}
	lo, hi = dyn.Limits()
	assert.Equal(t, [2]int{0, 3}, [2]int{lo, hi}, "refused requests changed nothing")

	code, got = post(t, h, "192.0.2.1:5", "application/json", `{"pool": "dyn", "min": 1, "max": 2}`)
	assert.Equal(t, http.StatusForbidden, code)
	assert.Contains(t, got["error"], "only from this machine")
	code, _ = post(t, h, "not an address", "application/json", `{"pool": "dyn", "min": 1, "max": 2}`)
	assert.Equal(t, http.StatusForbidden, code)

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/limits", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
	assert.Equal(t, "POST", w.Header().Get("Allow"))
}

// TestLimitsCrossSite: without a token, the handler refuses every request
// that a web page of another site, open in a browser on the same machine,
// could send to it without asking first, and changes nothing; a program's
// JSON request, or a page's own, is served.
func TestLimitsCrossSite(t *testing.T) {
	dyn := limitsPools(t)
	require.NoError(t, dyn.SetLimits(1, 4))
	h := LimitsHandler("")
	const body = `{"pool": "dyn", "min": 2, "max": 5}`
	for _, c := range []struct {
		name, ctype, body string
		header            []string
		want              string
	}{
		{"form", "application/x-www-form-urlencoded", "pool=dyn&min=2&max=5", nil, "send the limits as JSON with Content-Type: application/json"},
		{"bare", "", "pool=dyn&min=2&max=5", nil, "send the limits as JSON"},
		{"text/plain", "text/plain", body, nil, "send the limits as JSON"},
		{"multipart", "multipart/form-data; boundary=x", body, nil, "send the limits as JSON"},
		{"form from another site", "application/x-www-form-urlencoded", "pool=dyn&min=2&max=5",
			[]string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, "cross-site request from a web page"},
		{"cross-site", "application/json", body, []string{"Sec-Fetch-Site", "cross-site"}, "cross-site request from a web page"},
		{"same-site", "application/json", body, []string{"Sec-Fetch-Site", "same-site"}, "same-site request"},
		{"foreign origin", "application/json", body, []string{"Origin", "https://evil.example"}, `origin "https://evil.example"`},
		{"other port", "application/json", body, []string{"Origin", "http://127.0.0.1:3000"}, "send the limits from a program"},
		{"null origin", "application/json", body, []string{"Origin", "null"}, `origin "null"`},
		{"bad origin", "application/json", body, []string{"Origin", "http://[::1"}, "web page"},
		{"rebound name", "application/json", body, []string{"Host", "evil.example:8080"}, `host "evil.example:8080"`},
		{"rebound name, same origin", "application/json", body,
			[]string{"Host", "evil.example", "Origin", "http://evil.example", "Sec-Fetch-Site", "same-origin"}, "address the handler as localhost"},
	} {
		code, got := post(t, h, local, c.ctype, c.body, c.header...)
		assert.Equal(t, http.StatusForbidden, code, c.name)
		assert.Contains(t, got["error"], c.want, c.name)
		lo, hi := dyn.Limits()
		assert.Equal(t, [2]int{1, 4}, [2]int{lo, hi}, "%s: the pool's limits changed", c.name)
	}

	for i, header := range [][]string{
		nil,
		{"Sec-Fetch-Site", "same-origin", "Origin", "http://127.0.0.1:8080"},
		{"Sec-Fetch-Site", "none"},
		{"Host", "LOCALHOST:8080", "Origin", "http://localhost:8080"},
		{"Host", "pools.localhost."},
		{"Host", "[::1]"},
		{"Host", "[::1]:8080", "Origin", "http://[::1]:8080"},
		{"Host", ""},
	} {
		code, got := post(t, h, local, "application/json", fmt.Sprintf(`{"pool": "dyn", "min": 1, "max": %d}`, 8-i), header...)
		assert.Equal(t, http.StatusOK, code, "%q: %v", header, got)
		_, hi := dyn.Limits()
		assert.Equal(t, 8-i, hi, "%q", header)
	}

	// A preflight for a cross-site JSON request is refused, without
	// consent: the browser then does not send the request.
	r := httptest.NewRequest("OPTIONS", "/limits", nil)
	r.RemoteAddr = local
	r.Header.Set("Origin", "https://evil.example")
	r.Header.Set("Access-Control-Request-Method", "POST")
	r.Header.Set("Access-Control-Request-Headers", "content-type")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
	for k := range w.Header() {
		assert.NotContains(t, k, "Access-Control", "the preflight's answer consents")
	}
}

func TestLimitsToken(t *testing.T) {
	dyn := limitsPools(t)
	h := LimitsHandler("s3cret")
	remote := "192.0.2.1:5"
	for _, auth := range []string{"", "Bearer", "Bearer wrong", "Basic s3cret", "Bearer s3cret0"} {
		code, got := post(t, h, local, "", "pool=dyn&min=1&max=2", "Authorization", auth)
		assert.Equal(t, http.StatusUnauthorized, code, "%q: a token is wanted from everyone", auth)
		assert.Contains(t, got["error"], "bearer token")
	}
	r := httptest.NewRequest("POST", "/limits", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, `Bearer realm="poolgen"`, w.Header().Get("WWW-Authenticate"))

	code, _ := post(t, h, remote, "", "pool=dyn&min=2&max=5", "Authorization", "Bearer s3cret")
	assert.Equal(t, http.StatusOK, code)
	lo, hi := dyn.Limits()
	assert.Equal(t, [2]int{2, 5}, [2]int{lo, hi})

	// A page of another site cannot attach the token without the
	// server's consent, so a request that carries it is served whatever
	// the browser says of its origin, and from any host name.
	code, _ = post(t, h, local, "application/x-www-form-urlencoded", "pool=dyn&min=3&max=6", "Authorization", "Bearer s3cret",
		"Sec-Fetch-Site", "cross-site", "Origin", "https://elsewhere.example", "Host", "pools.example")
	assert.Equal(t, http.StatusOK, code)
	lo, hi = dyn.Limits()
	assert.Equal(t, [2]int{3, 6}, [2]int{lo, hi})
}
