// Package promoted has task types whose tagged fields are promoted from the
// structs they embed.
package promoted

import "context"

// Meta is embedded in Job, which reads its tagged field.
type Meta struct {
	Prio int `poolgen:"priority"`
}

// Job's own Prio shadows Meta's: its pools read Meta.Prio, the tagged one.
//
//poolgen:pools fixed,priority
type Job struct {
	Meta
	Prio string
	Cost int `poolgen:"cost"`
}

func (j Job) Run(context.Context) error { return nil }

// Keyed is embedded by pointer in Rec.
type Keyed struct {
	Key string `poolgen:"batchkey"`
}

// Rec is saved in batches of one key.
//
//poolgen:pools batch
//poolgen:batch saveRecs
type Rec struct {
	*Keyed
	N int
}

func saveRecs(ctx context.Context, batch []Rec) error { return nil }
