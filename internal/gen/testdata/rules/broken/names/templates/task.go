// Package templates breaks rule names of internal/gen/rules.go: queue and PoolgenQueue become one name for a task type called poolgen.
package templates

import "context"

// Task is what every pool runs.
type Task interface {
	Run(ctx context.Context) error
}
