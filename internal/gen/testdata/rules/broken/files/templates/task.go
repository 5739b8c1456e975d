// Package templates breaks rule files of internal/gen/rules.go: FixedPool and DynamicPool share a file.
package templates

import "context"

// Task is what every pool runs.
type Task interface {
	Run(ctx context.Context) error
}
