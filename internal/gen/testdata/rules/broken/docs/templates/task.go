// Package templates breaks rule docs of internal/gen/rules.go: the doc comments of runAll and done do not start with their names.
package templates

import "context"

// Task is what every pool runs.
type Task interface {
	Run(ctx context.Context) error
}
