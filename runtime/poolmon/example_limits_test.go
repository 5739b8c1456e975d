package poolmon_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/runtime/poolmon"
	"github.com/poolgen/poolgen/templates"
)

// Encode is the task of the limits example: it stands for a video
// transcode.
type Encode struct{ ID int }

func (Encode) Run(ctx context.Context) error { return nil }

// Scaling triggered from outside: an autoscaler, a webhook of the
// monitoring system or an operator's script POSTs new worker limits for a
// named dynamic pool, for example before a launch or when a queue in
// another system crosses a threshold; the pool's own policy keeps
// scaling within them.
func ExampleLimitsHandler() {
	p, err := templates.NewDynamicPool[Encode](poolrt.Name("transcode"), poolrt.WorkerLimits(1, 64))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Shutdown(context.Background())

	mux := http.NewServeMux()
	mux.Handle("/debug/pools/limits", poolmon.LimitsHandler("s3cret"))
	srv := httptest.NewServer(mux) // http.ListenAndServe in a program
	defer srv.Close()

	// What the external system sends: JSON, its content type and the
	// token.
	post := func(body string) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/debug/pools/limits", strings.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer s3cret")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer res.Body.Close()
		reply, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			reply = []byte("(the error, as JSON)\n")
		}
		fmt.Printf("%s %s", res.Status, reply)
	}

	sc := p.Stats().Scaling
	fmt.Printf("before: limits [%d, %d], size %d\n", sc.Min, sc.Max, sc.Size)
	post(`{"pool": "transcode", "min": 8, "max": 32}`) // the launch starts: at least 8 workers
	sc = p.Stats().Scaling
	fmt.Printf("after: limits [%d, %d], size %d, last change: %s\n", sc.Min, sc.Max, sc.Size, sc.Events[len(sc.Events)-1].Reason)
	post(`{"pool": "transcode", "min": 1, "max": 128}`) // above the pool's ceiling
	post(`{"pool": "thumbnails", "min": 1, "max": 4}`)  // no such pool
	// Output:
	// before: limits [1, 64], size 1
	// 200 OK {"pool":"transcode","min":8,"max":32}
	// after: limits [8, 32], size 8, last change: SetLimits
	// 400 Bad Request (the error, as JSON)
	// 404 Not Found (the error, as JSON)
}

// An operator's script on the same machine, with no token: the handler
// serves loopback clients only, and only JSON sent with its content type,
// which a web page open in the operator's browser cannot send to it
// unasked. The equivalent with curl:
//
//	curl -H 'Content-Type: application/json' -d '{"pool": "reindex", "min": 2, "max": 4}' http://localhost:8080/debug/pools/limits
func ExampleLimitsHandler_loopback() {
	p, err := templates.NewDynamicPool[Encode](poolrt.Name("reindex"), poolrt.WorkerLimits(1, 8))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Shutdown(context.Background())

	mux := http.NewServeMux()
	mux.Handle("/debug/pools/limits", poolmon.LimitsHandler("")) // this machine only
	srv := httptest.NewServer(mux)                               // listens on 127.0.0.1
	defer srv.Close()

	post := func(contentType, body string) {
		res, err := http.Post(srv.URL+"/debug/pools/limits", contentType, strings.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		defer res.Body.Close()
		reply, _ := io.ReadAll(res.Body)
		fmt.Printf("%s %s", res.Status, reply)
	}

	post("application/json", `{"pool": "reindex", "min": 2, "max": 4}`)
	post("application/x-www-form-urlencoded", "pool=reindex&min=1&max=8") // what a web page's form would send
	lo, hi := p.Limits()
	fmt.Printf("limits [%d, %d]\n", lo, hi)
	// Output:
	// 200 OK {"pool":"reindex","min":2,"max":4}
	// 403 Forbidden {"error":"poolgen: without a token, send the limits as JSON with Content-Type: application/json (a form or a body of another type could come from a web page)"}
	// limits [2, 4]
}
