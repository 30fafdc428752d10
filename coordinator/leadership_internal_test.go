package coordinator

import (
	"testing"
	"time"
)

// The lease clock trusts a keepalive from the moment it was sent, for the
// granted TTL less the drift margin, and never moves its deadline back.
func TestLeaseClock(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := leaseClock{margin: leaseDriftMargin, deadline: t0}
	if !l.expired(t0) {
		t.Fatal("a lease is not alive at its deadline")
	}
	l.confirmed(t0, 2*time.Second)
	if l.expired(t0.Add(1800*time.Millisecond)) || !l.expired(t0.Add(1900*time.Millisecond)) {
		t.Fatalf("2 s lease confirmed at t0: deadline %v after t0, want 1.9 s", l.deadline.Sub(t0))
	}
	l.confirmed(t0.Add(-time.Second), 2*time.Second) // a late answer to an older keepalive
	if l.deadline != t0.Add(1900*time.Millisecond) {
		t.Fatalf("an older keepalive moved the deadline to %v", l.deadline.Sub(t0))
	}
	l.confirmed(t0.Add(time.Second), 2*time.Second)
	if l.deadline != t0.Add(2900*time.Millisecond) {
		t.Fatalf("deadline %v after t0, want 2.9 s", l.deadline.Sub(t0))
	}
}
