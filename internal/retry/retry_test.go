package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	p := Policy{First: time.Millisecond, Max: 4 * time.Millisecond}
	boom := errors.New("boom")
	var notes []int
	calls := 0
	err := Until(context.Background(), p, func(attempt int, err error, pause time.Duration) {
		if !errors.Is(err, boom) || pause <= 0 || pause > 5*time.Millisecond {
			t.Errorf("attempt %d: err %v, pause %v", attempt, err, pause)
		}
		notes = append(notes, attempt)
	}, func() error {
		if calls++; calls < 4 {
			return boom
		}
		return nil
	})
	if err != nil || calls != 4 || len(notes) != 3 || notes[2] != 3 {
		t.Fatalf("Until = %v after %d calls, notes %v", err, calls, notes)
	}

	calls = 0
	err = Until(context.Background(), p, nil, func() error { calls++; return Stop(boom) })
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("a stopped attempt: %v after %d calls", err, calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	err = Until(ctx, p, nil, func() error {
		if calls++; calls == 2 {
			cancel()
		}
		return boom
	})
	if !errors.Is(err, context.Canceled) || calls != 2 {
		t.Fatalf("a cancelled loop: %v after %d calls", err, calls)
	}

}
