// Package fair has fair task types: one whose tenant is a tagged field,
// batched as well by a key of another type, and one whose tenant comes
// from its own method.
package fair

import "context"

// Upload is shared between accounts, and saved in batches by region.
//
//poolgen:pools fair,batch
//poolgen:batch saveUploads
type Upload struct {
	Account int64  `poolgen:"tenant"`
	Region  string `poolgen:"batchkey"`
}

func (u Upload) Run(ctx context.Context) error { return nil }

func saveUploads(ctx context.Context, batch []Upload) error { return nil }

// Team names a tenant by two fields.
type Team struct {
	Org  string
	Unit int
}

// Build is shared between teams.
//
//poolgen:pools fair
type Build struct {
	team Team
}

func (b *Build) Run(ctx context.Context) error { return nil }

// Tenant returns the team the build belongs to.
func (b *Build) Tenant() Team { return b.team }
