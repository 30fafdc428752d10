package coordinator

import (
	"context"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/internal/testenv"
)

// A client that saw a run end may resume it at once, while the run's
// goroutine is still winding down: Resume waits for it instead of
// answering "already running".
func TestResumeRightAfterTheEnd(t *testing.T) {
	ended, release := make(chan struct{}), make(chan struct{})
	testHookRunEnded = func(_ *Coordinator, _ string) {
		select {
		case <-ended: // a later run
		default:
			close(ended)
			<-release
		}
	}
	t.Cleanup(func() { testHookRunEnded = nil })
	c, started := startNamed(t, testenv.Client(t, testenv.Etcd(t, 0).Endpoints()...), "A")
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	spec := failoverSpec()
	spec.Generations = 2
	ctx, cancel := context.WithTimeout(context.Background(), testenv.Patience(2*time.Minute))
	defer cancel()
	id, err := c.Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	<-ended
	resumed := make(chan error, 1)
	go func() { resumed <- c.Resume(ctx, id, "generations=3") }()
	time.Sleep(100 * time.Millisecond) // let Resume meet the winding-down run
	close(release)
	if err := <-resumed; err != nil {
		t.Fatalf("resume right after the run ended: %v", err)
	}
	if st := waitSucceeded(t, c, id, 3); st.GetGenerationsDone() != 3 {
		t.Fatalf("extended run: %d generations done", st.GetGenerationsDone())
	}
}
