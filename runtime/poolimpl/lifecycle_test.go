package poolimpl

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestLifecycleRoomToken: Room leaves one token for a waiting submitter
// whether or not one is already pending, never blocks, and leaves nothing
// when nobody waits.
func TestLifecycleRoomToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l Lifecycle
		l.Init(1)
		l.Room() // nobody waits: no token
		short := func() error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			defer cancel()
			return l.WaitRoom(ctx)
		}
		l.BeginWait()
		if err := short(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitRoom with no room made = %v, want a timeout", err)
		}
		l.Room()
		l.Room() // a token is pending: no second one, and no blocking
		if err := short(); err != nil {
			t.Fatalf("WaitRoom after Room = %v, want nil", err)
		}
		if err := short(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second WaitRoom = %v: Room left more than one token", err)
		}
		l.Room() // the token was taken: Room must leave a new one
		if err := short(); err != nil {
			t.Fatalf("WaitRoom after a taken token and Room = %v, want nil", err)
		}
		l.EndWait()
	})
}
