// Package templates breaks rule pools of internal/gen/rules.go: its FixedPool is not generic.
package templates

import "context"

// Task is what every pool runs.
type Task interface {
	Run(ctx context.Context) error
}
