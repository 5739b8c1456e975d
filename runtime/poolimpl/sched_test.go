package poolimpl

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	poolrt "github.com/poolgen/poolgen/runtime"
)

// fakeSched is a pool for a Later: TrySubmit answers from refuse (nil
// accepts), and DeadLetter records.
type fakeSched struct {
	mu       sync.Mutex
	refuse   error
	accepted []int
	dead     map[int]error
}

func (f *fakeSched) TrySubmit(t int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse != nil {
		return f.refuse
	}
	f.accepted = append(f.accepted, t)
	return nil
}
func (f *fakeSched) Closed() bool        { return false }
func (f *fakeSched) Stats() poolrt.Stats { return poolrt.Stats{QueueCap: 8} }
func (f *fakeSched) DeadLetter(t int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dead[t] = err
}
func (f *fakeSched) set(err error) {
	f.mu.Lock()
	f.refuse = err
	f.mu.Unlock()
}

// TestLaterRefusals: a due task that meets a full pool waits and is tried
// again; one refused for another reason is canceled to the dead-letter
// path with that error; one held by the dispatcher when Stop comes is
// returned, exactly once.
func TestLaterRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeSched{dead: map[int]error{}}
		var l Later[int]
		f.set(poolrt.ErrQueueFull)
		require.NoError(t, l.SubmitAfter(time.Millisecond, 1, f, f))
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Empty(t, f.accepted, "full: still due")
		f.set(nil)
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, []int{1}, f.accepted, "tried again")

		shed := errors.New("shed")
		f.set(shed)
		require.NoError(t, l.SubmitAfter(time.Millisecond, 2, f, f))
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, map[int]error{2: shed}, f.dead, "canceled with the pool's reason")

		f.set(poolrt.ErrQueueFull)
		require.NoError(t, l.SubmitAfter(time.Millisecond, 3, f, f))
		require.NoError(t, l.SubmitAfter(time.Hour, 4, f, f))
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, []int{3, 4}, l.Stop(true), "the held task first, then the waiting")
		assert.Nil(t, l.Stop(true))
		assert.ErrorIs(t, l.SubmitAfter(time.Hour, 5, f, f), poolrt.ErrClosed)
		var st poolrt.Stats
		l.AddStats(&st)
		assert.Equal(t, poolrt.ScheduledStats{Scheduled: 4, Fired: 1, Canceled: 1, Returned: 2, Limit: 8}, *st.Scheduled)
	})
}

// TestLaterStopBeforeStart: a Later stopped before its first task
// refuses them.
func TestLaterStopBeforeStart(t *testing.T) {
	f := &fakeSched{dead: map[int]error{}}
	var l Later[int]
	assert.Nil(t, l.Stop(false))
	assert.ErrorIs(t, l.SubmitAfter(time.Hour, 1, f, f), poolrt.ErrClosed)
	assert.NoError(t, l.SubmitAfter(0, 2, f, f), "d <= 0 is TrySubmit")
	var st poolrt.Stats
	l.AddStats(&st)
	assert.Nil(t, st.Scheduled)
}
