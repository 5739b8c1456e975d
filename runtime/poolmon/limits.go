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
	"net/url"
	"strconv"
	"strings"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/internal/registry"
)

// limitsBodyMax bounds a request body: a name and two numbers.
const limitsBodyMax = 4 << 10

// LimitsHandler returns a handler through which another program (an
// autoscaler, an operator's script) changes a dynamic pool's worker
// limits at run time. It takes a POST of JSON, sent with the header
// "Content-Type: application/json",
//
//	{"pool": "resize", "min": 2, "max": 16}
//
// calls the pool's SetLimits and answers 200 with the limits as JSON. It
// answers 400 for malformed or impossible limits, 404 for an unknown pool,
// 409 for a pool that is not dynamic or is shutting down, 405 for another
// method; errors are JSON {"error": "..."}.
//
// Changing limits is a write. With a token, every client must send
// "Authorization: Bearer <token>" (401 without it); the body may then
// also be a form (pool=resize&min=2&max=16), and another content type
// is answered 415. Behind a reverse proxy every client looks local: set a
// token.
//
// With an empty token only clients on the loopback interface are served,
// and only with requests that a web page open in a browser on this
// machine cannot send on its own; everything else is answered 403. A page
// of any site can post a form, text/plain or a bare body to 127.0.0.1
// unasked, so those are refused: the body must be JSON with its content
// type, which a browser sends cross-site only after asking the server
// with an OPTIONS request, which this handler refuses. Requests that a
// browser marks as coming from another site (a Sec-Fetch-Site header
// other than same-origin or none, an Origin header naming another host)
// are refused, and so are requests addressed to a host other than
// localhost or a loopback address, which is what a page sends after its
// site's name has been made to resolve to this machine.
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
		if msg := fromBrowser(r); msg != "" {
			return http.StatusForbidden, msg
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

// fromBrowser returns why a loopback request r, which carries no token,
// may have been sent by a web page of another site open in a browser on
// this machine, or "". A page can send a form, text/plain or a bare body
// to 127.0.0.1 without asking; JSON it must first ask about with an
// OPTIONS request, which this handler refuses. Browsers also say where a
// request comes from (Sec-Fetch-Site, Origin), and name the host the page
// asked for, which is another site's when that site's name was made to
// resolve to this machine.
func fromBrowser(r *http.Request) string {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return fmt.Sprintf("poolgen: refused a %s request from a web page: send the limits from a program or script, as JSON with Content-Type: application/json", site)
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		if u, err := url.Parse(origin); err != nil || !strings.EqualFold(u.Host, r.Host) {
			return fmt.Sprintf("poolgen: refused a request from a web page of origin %q: send the limits from a program or script, as JSON with Content-Type: application/json", origin)
		}
	}
	if !loopbackHost(r.Host) {
		return fmt.Sprintf("poolgen: refused a request for host %q: without a token, address the handler as localhost or a loopback address", r.Host)
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		return "poolgen: without a token, send the limits as JSON with Content-Type: application/json (a form or a body of another type could come from a web page)"
	}
	return ""
}

// loopbackHost reports whether the Host header host names this machine:
// localhost, a name under localhost or a loopback address, with or
// without a port. An empty host is accepted: browsers always send one.
func loopbackHost(host string) bool {
	if host == "" {
		return true
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return err == nil && a.IsLoopback()
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
