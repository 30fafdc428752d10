// Package retry provides the one retry loop mesaopt's processes share:
// exponential backoff with jitter (github.com/cenkalti/backoff), for as
// long as the caller's context allows.
package retry

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Policy is the pause between attempts: First after the first failure,
// doubling after each further one up to Max, each pause jittered by ±20 %
// so that many processes retrying at once do not stay in step.
type Policy struct {
	First, Max time.Duration
}

// Notify is told of a failed attempt (numbered from 1) and the pause before
// the next one.
type Notify func(attempt int, err error, pause time.Duration)

// Until calls op until it returns nil, returns an error wrapped by Stop
// (returned unwrapped, at once), or ctx ends (ctx's cause is returned). It
// never gives up on its own: bound it with ctx. notify may be nil.
func Until(ctx context.Context, p Policy, notify Notify, op func() error) error {
	b := &backoff.ExponentialBackOff{
		InitialInterval:     p.First,
		RandomizationFactor: 0.2,
		Multiplier:          2,
		MaxInterval:         p.Max,
	}
	attempt := 0
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		attempt++
		return struct{}{}, op()
	}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(0), backoff.WithNotify(func(err error, d time.Duration) {
		if notify != nil {
			notify(attempt, err, d)
		}
	}))
	return err
}

// Stop marks err as final: Until returns it without retrying.
func Stop(err error) error { return backoff.Permanent(err) }
