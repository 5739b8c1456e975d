// Package initialism has a task type whose name starts with an initialism.
package initialism

import "context"

//poolgen:pools fixed
type HTTPJob struct{ URL string }

func (h HTTPJob) Run(context.Context) error { return nil }
