// Package testtask holds the task types of pooljs's tests and benchmarks,
// with the MessagePack methods that msgp generates for them.
package testtask

//go:generate go run github.com/tinylib/msgp@v1.6.5 -tests=false

// Job is a task of a typical size: an ID to dedupe on, a few scalars, a
// short string and a small payload.
type Job struct {
	ID       string            `json:"id" msg:"id"`
	Tenant   string            `json:"tenant" msg:"tenant"`
	Priority int               `json:"priority" msg:"priority"`
	Amount   float64           `json:"amount" msg:"amount"`
	Tags     []string          `json:"tags" msg:"tags"`
	Attrs    map[string]string `json:"attrs" msg:"attrs"`
	Payload  []byte            `json:"payload" msg:"payload"`
}
