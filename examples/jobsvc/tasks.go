package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

//go:generate go run github.com/poolgen/poolgen/cmd/poolgen -type=Request,Event,Job -output=tasks_pool.go

// Request is the work of one HTTP request: Rounds rounds of SHA-256 over
// Input, after Sleep (standing for the I/O a real handler waits for). The
// request pool runs the highest Priority first, which the request's class
// sets; Run leaves the answer in Result, which the handler reads once
// SubmitWait has returned. The pool holds *Request, so that write is the
// handler's to read.
//
//poolgen:pools priority
type Request struct {
	ID       string
	Class    string
	Priority int `poolgen:"priority"`
	Input    string
	Rounds   int
	Sleep    time.Duration
	Result   string
}

// Run computes the request's result.
func (r *Request) Run(ctx context.Context) error {
	if err := pause(ctx, r.Sleep); err != nil {
		return err
	}
	r.Result = digest(r.Input, r.Rounds)
	return nil
}

// digest returns the hex SHA-256 of input hashed rounds+1 times: the
// result of a request, which clients can check.
func digest(input string, rounds int) string {
	sum := sha256.Sum256([]byte(input))
	for range rounds {
		sum = sha256.Sum256(sum[:])
	}
	return hex.EncodeToString(sum[:])
}

// pause waits d, or until ctx is done.
func pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Event is a row of the events table: one per handled request (ID the
// request's) and per job (ID "job:" and the job's). Events reach the
// database through the event batch pool, whose handler, saveEvents,
// inserts each batch in one transaction. The primary key is the ID, and
// a second insert of an ID is ignored, so an event written again (a
// client retrying a request it got no answer for, a job delivered again)
// is stored once.
//
//poolgen:pools batch
//poolgen:batch saveEvents
type Event struct {
	ID     string
	Kind   string // "request" or "job"
	Class  string // the request's class, or the job's account
	Result string
	At     time.Time

	store *store // where saveEvents writes it
}

// saveEvents writes a batch of events in one transaction: the batch
// pool's handler. Every event of a service carries that service's store.
func saveEvents(ctx context.Context, batch []Event) error {
	if len(batch) == 0 {
		return nil
	}
	if batch[0].store == nil {
		return errNoStore
	}
	return batch[0].store.saveEvents(ctx, batch)
}

// errNoStore reports an event submitted other than by the service, which
// would have nowhere to go.
var errNoStore = errors.New("poolgen: jobsvc: event submitted without its store")

// Job is a background job, published to JetStream by POST /v1/jobs and
// run from the stream by a pooljs.Source feeding the job pool: it credits
// Amount to Account, once, however often it is delivered, and records an
// event. Its ID is the message ID (the stream drops a duplicate publish)
// and the primary key of its effect (a job delivered again finds its
// effect applied and changes nothing).
//
//poolgen:pools fixed
type Job struct {
	ID      string        `json:"id"`
	Account string        `json:"account"`
	Amount  int64         `json:"amount"`
	Sleep   time.Duration `json:"sleep,omitempty"`

	delivery uint64
	env      *jobEnv
}

// jobEnv is what a job needs from the service that runs it; the job
// pool's submitter hands it to each job.
type jobEnv struct {
	store  *store
	events *EventBatchPool
}

// SetDelivery records the delivery count of the job's message
// (pooljs.DeliverySetter).
func (j *Job) SetDelivery(n uint64) { j.delivery = n }

// errNoEnv reports a job submitted other than through the service's job
// pool, which would have nowhere to write.
var errNoEnv = errors.New("poolgen: jobsvc: job submitted without its service")

// Run applies the job's effect in one transaction, unless it was applied
// already, then writes its event through the event pool and waits for it,
// so that the Source acknowledges the message only when both are stored.
func (j Job) Run(ctx context.Context) error {
	if j.env == nil {
		return errNoEnv
	}
	if err := pause(ctx, j.Sleep); err != nil {
		return err
	}
	if err := j.env.store.applyJob(ctx, j); err != nil {
		return fmt.Errorf("job %s: %w", j.ID, err)
	}
	err := j.env.events.SubmitWait(ctx, Event{
		ID: "job:" + j.ID, Kind: "job", Class: j.Account, Result: fmt.Sprint(j.Amount),
		At: time.Now(), store: j.env.store,
	})
	if err != nil {
		return fmt.Errorf("job %s: event: %w", j.ID, err)
	}
	return nil
}

// jobPool is the pool a Source feeds: the generated job pool, handing
// each job its environment before submitting it.
type jobPool struct {
	*JobFixedPool
	env *jobEnv
}

// SubmitWait submits j with the service's environment and waits for it.
func (p jobPool) SubmitWait(ctx context.Context, j Job) error {
	j.env = p.env
	return p.JobFixedPool.SubmitWait(ctx, j)
}
