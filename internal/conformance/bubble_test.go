package conformance

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestBubbleDeadlockIsolated runs TestBubbleDeadlockChild in a child
// process: a deadlock in one pool's bubble must fail that test alone,
// while the tests after it still run and report, their leak checks not
// tripped by the goroutines the deadlock left behind.
func TestBubbleDeadlockIsolated(t *testing.T) {
	if os.Getenv("CONFORMANCE_BUBBLE_CHILD") != "" {
		t.Skip("the child process runs TestBubbleDeadlockChild")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBubbleDeadlockChild$", "-test.v")
	cmd.Env = append(os.Environ(), "CONFORMANCE_BUBBLE_CHILD=1")
	out, err := cmd.CombinedOutput()
	got := string(out)
	if err == nil {
		t.Fatalf("the child passed, but its first subtest deadlocks:\n%s", got)
	}
	for _, want := range []string{
		"--- FAIL: TestBubbleDeadlockChild/deadlocks",
		"deadlock: all goroutines in bubble are blocked",
		"--- PASS: TestBubbleDeadlockChild/after",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the child's output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "panic:") {
		t.Errorf("the child crashed instead of failing one test:\n%s", got)
	}
}

// TestBubbleDeadlockChild is the child process of
// TestBubbleDeadlockIsolated; it does nothing elsewhere.
func TestBubbleDeadlockChild(t *testing.T) {
	if os.Getenv("CONFORMANCE_BUBBLE_CHILD") == "" {
		t.Skip("run by TestBubbleDeadlockIsolated")
	}
	t.Run("deadlocks", func(t *testing.T) {
		ignore := goleak.IgnoreCurrent()
		t.Cleanup(func() { verifyNoLeaks(t, ignore) })
		bubble(t, func(t *testing.T) {
			block := make(chan struct{})
			go func() { <-block }()
			<-block
		})
	})
	t.Run("after", func(t *testing.T) {
		ignore := goleak.IgnoreCurrent()
		t.Cleanup(func() { verifyNoLeaks(t, ignore) })
		bubble(t, func(t *testing.T) {})
	})
}
