package poolmon

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/registry"
)

// limitsBodyMax bounds a request body: a name and two numbers.
const limitsBodyMax = 4 << 10

// LimitsHandler returns a handler through which another program (an
// autoscaler, an operator's script) changes a dynamic pool's worker
// limits at run time. It takes a POST whose body is either JSON,
//
//	{"pool": "resize", "min": 2, "max": 16}
//
// or a form (pool=resize&min=2&max=16), calls the pool's SetLimits and
// answers 200 with the limits as JSON. It answers 400 for malformed or
// impossible limits, 404 for an unknown pool, 409 for a pool that is not
// dynamic or is shutting down, 405 for another method, 415 for another
// content type; errors are JSON
// {"error": "..."}.
//
// Changing limits is a write, so with an empty token only clients on the
// loopback interface are served (403 for the others). With a token,
// every client must send "Authorization: Bearer <token>" (401 without
// it). Behind a reverse proxy every client looks local: set a token.
func LimitsHandler(token string) http.Handler {
	h := &limitsHandler{}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		h.token = &sum
	}
	return h
}

type limitsHandler struct {
	token *[sha256.Size]byte // nil: loopback clients only
}

type limitsRequest struct {
	Pool string `json:"pool"`
	Min  *int   `json:"min"`
	Max  *int   `json:"max"`
}

type limitsReply struct {
	Pool string `json:"pool"`
	Min  int    `json:"min"`
	Max  int    `json:"max"`
}

func (h *limitsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		fail(w, http.StatusMethodNotAllowed, "poolgen: use POST to change a pool's limits")
		return
	}
	if status, msg := h.allow(r); status != 0 {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="poolgen"`)
		}
		fail(w, status, msg)
		return
	}
	req, err := readLimits(w, r)
	if err != nil {
		status := http.StatusBadRequest
		if err == errUnsupported {
			status = http.StatusUnsupportedMediaType
		}
		fail(w, status, err.Error())
		return
	}
	var e *registry.Entry
	for _, x := range registry.All() {
		if x.Name == req.Pool {
			e = x
		}
	}
	if e == nil {
		fail(w, http.StatusNotFound, fmt.Sprintf("poolgen: no running pool named %q", req.Pool))
		return
	}
	if e.SetLimits == nil {
		fail(w, http.StatusConflict, fmt.Sprintf("poolgen: pool %q is a %s pool: only dynamic pools change their limits", e.Name, e.Pattern))
		return
	}
	if err := e.SetLimits(*req.Min, *req.Max); err != nil {
		var ce *poolrt.ConfigError
		switch {
		case errors.As(err, &ce):
			fail(w, http.StatusBadRequest, err.Error())
		case errors.Is(err, poolrt.ErrClosed):
			fail(w, http.StatusConflict, fmt.Sprintf("poolgen: pool %q is shutting down", e.Name))
		default:
			fail(w, http.StatusInternalServerError, err.Error())
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(limitsReply{e.Name, *req.Min, *req.Max})
}

// allow returns the status and message that refuse r, or 0.
func (h *limitsHandler) allow(r *http.Request) (int, string) {
	if h.token == nil {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if a, err := netip.ParseAddr(host); err != nil || !a.IsLoopback() {
			return http.StatusForbidden, "poolgen: pool limits change only from this machine unless the handler has a token"
		}
		return 0, ""
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	// Comparing digests takes the same time whatever the token's length
	// and content, so the time of a refusal tells nothing about it.
	sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
	if !ok || subtle.ConstantTimeCompare(sum[:], h.token[:]) != 1 {
		return http.StatusUnauthorized, "poolgen: a valid bearer token is required to change pool limits"
	}
	return 0, ""
}

var errUnsupported = errors.New("poolgen: limits request: send application/json or application/x-www-form-urlencoded")

// readLimits parses a JSON or form body into a request with every field.
func readLimits(w http.ResponseWriter, r *http.Request) (limitsRequest, error) {
	var req limitsRequest
	r.Body = http.MaxBytesReader(w, r.Body, limitsBodyMax)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return req, fmt.Errorf("poolgen: limits request: want JSON {\"pool\": name, \"min\": n, \"max\": n}: %v", err)
		}
	case "", "application/x-www-form-urlencoded":
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded") // a bare body is a form
		if err := r.ParseForm(); err != nil {
			return req, fmt.Errorf("poolgen: limits request: %v", err)
		}
		req.Pool = r.Form.Get("pool")
		for _, f := range []struct {
			name string
			to   **int
		}{{"min", &req.Min}, {"max", &req.Max}} {
			s := r.Form.Get(f.name)
			if s == "" {
				continue
			}
			n, err := strconv.Atoi(s)
			if err != nil {
				return req, fmt.Errorf("poolgen: limits request: %s=%q is not an integer", f.name, s)
			}
			*f.to = &n
		}
	default:
		return req, errUnsupported
	}
	switch {
	case req.Pool == "":
		return req, errors.New("poolgen: limits request: pool is missing")
	case req.Min == nil || req.Max == nil:
		return req, errors.New("poolgen: limits request: min and max are both required")
	case *req.Min < 0 || *req.Max < 0:
		return req, fmt.Errorf("poolgen: limits request: min %d and max %d cannot be negative", *req.Min, *req.Max)
	case *req.Min > *req.Max:
		return req, fmt.Errorf("poolgen: limits request: min %d is above max %d", *req.Min, *req.Max)
	}
	return req, nil
}

// fail answers with status and a JSON error.
func fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{msg})
}
