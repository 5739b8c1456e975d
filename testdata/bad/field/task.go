package field

import "context"

type Job struct {
	Run func(context.Context) error
}
