package poolmon_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/poolgen/poolgen/runtime/poolmon"
)

// Start a monitor with alert rules, and mount its page and the limits
// handler on a server, as one would net/http/pprof's. The page lists the
// pools created with poolrt.Name, for example
// templates.NewFixedPool[Thumb](poolrt.Name("thumbnails")).
func ExampleStart() {
	m, err := poolmon.Start(poolmon.Config{
		Rules: []poolmon.Rule{
			poolmon.WaitP99Above(50 * time.Millisecond),
			poolmon.Saturation(),
			poolmon.FailureRateAbove(0.05),
			poolmon.Stuck(),
		},
		OnAlert: func(a poolmon.Alert) {
			log.Printf("pool %s: %s firing=%t (%.3g)", a.Pool, a.Rule, a.Firing, a.Value)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Stop()

	mux := http.NewServeMux()
	mux.Handle("/debug/pools/", m)                                    // the page, history.json, history.csv
	mux.Handle("/debug/pools/limits", poolmon.LimitsHandler("token")) // for an autoscaler
	srv := httptest.NewServer(mux)                                    // http.ListenAndServe in a program
	defer srv.Close()

	for _, path := range []string{"/debug/pools/", "/debug/pools/history.json", "/debug/pools/limits"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			log.Fatal(err)
		}
		res.Body.Close()
		fmt.Println(path, res.Status, res.Header.Get("Content-Type"))
	}
	// Output:
	// /debug/pools/ 200 OK text/html; charset=utf-8
	// /debug/pools/history.json 200 OK application/json
	// /debug/pools/limits 405 Method Not Allowed application/json
}
