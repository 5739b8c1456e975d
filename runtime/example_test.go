package poolrt_test

import (
	"context"
	"errors"
	"fmt"
	"sync"

	poolrt "github.com/poolgen/poolgen/runtime"
	"github.com/poolgen/poolgen/templates"
)

// Upload is a task whose failures are worth keeping: the hook receives
// the task itself.
type Upload struct{ Name string }

var errOffline = errors.New("upload: storage offline")

func (u Upload) Run(ctx context.Context) error {
	if u.Name == "b.txt" {
		return errOffline
	}
	return nil
}

// OnTaskError receives each failed task with its error, so the caller can
// log it with its fields, store it, or resubmit it later; the task type
// comes from the handler's parameter, and a pool of another task type
// refuses the option when it is created.
func ExampleOnTaskError() {
	var mu sync.Mutex
	var failed []string
	p, err := templates.NewFixedPool[Upload](poolrt.Workers(1),
		poolrt.OnTaskError(func(u Upload, err error) {
			mu.Lock()
			failed = append(failed, u.Name+": "+err.Error())
			mu.Unlock()
		}))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for _, name := range []string{"a.txt", "b.txt", "c.txt"} {
		p.Submit(ctx, Upload{Name: name})
	}
	p.Shutdown(ctx)
	fmt.Println(failed)

	_, err = templates.NewFixedPool[*Upload](poolrt.OnTaskError(func(u Upload, err error) {}))
	fmt.Println(err)
	// Output:
	// [b.txt: upload: storage offline]
	// poolgen: invalid option OnTaskError(...): the handler takes tasks of type poolrt_test.Upload, the pool's are *poolrt_test.Upload
}
