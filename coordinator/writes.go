package coordinator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/mesaopt/mesaopt/coordinator/store"
	"github.com/mesaopt/mesaopt/internal/retry"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// Each attempt at an etcd write gets this long; writes retry with backoff
// while etcd is unreachable, until they succeed, the fence fails or ctx
// ends. The leadership monitor (keepLeading) ends a tenure whose lease may
// have expired meanwhile, which cancels the run and so its retries.
const (
	writeAttempt    = 2 * time.Second
	writeBackoffMin = 100 * time.Millisecond
	writeBackoffMax = 5 * time.Second
)

// write runs op under the current fence, retrying while etcd is unavailable.
func (c *Coordinator) write(ctx context.Context, what string, op func(context.Context, store.Fence) error) error {
	attempts := 0
	err := retry.Until(ctx, retry.Policy{First: writeBackoffMin, Max: writeBackoffMax}, func(attempt int, err error, pause time.Duration) {
		c.log.Warn("etcd write failed; pausing and retrying", "what", what, "attempt", attempt, "retry_in", pause, "err", err)
	}, func() error {
		attempts++
		f, err := c.fenceNow()
		if err != nil {
			return retry.Stop(err)
		}
		actx, cancel := context.WithTimeout(ctx, writeAttempt)
		err = op(actx, f)
		cancel()
		switch {
		case err == nil, errors.Is(err, store.ErrFenced), errors.Is(err, store.ErrExists), errors.Is(err, store.ErrNotFound), ctx.Err() != nil:
			return retry.Stop(err)
		case errors.Is(err, rpctypes.ErrNoSpace):
			// etcd refuses every write until an operator frees space:
			// waiting changes nothing.
			return retry.Stop(fmt.Errorf("%w (etcd's database reached its quota: compact and defragment etcd, or raise its --quota-backend-bytes, then resume the run)", err))
		}
		return err
	})
	if err == nil && attempts > 1 {
		c.log.Info("etcd write succeeded after retries", "what", what, "attempts", attempts)
	}
	return err
}

func (c *Coordinator) setStatus(ctx context.Context, st *pb.RunStatus) error {
	return c.write(ctx, "status of "+st.GetRunId(), func(ctx context.Context, f store.Fence) error {
		return c.store.SetStatus(ctx, f, st)
	})
}

func (c *Coordinator) createRun(ctx context.Context, spec *pb.ExperimentSpec, st *pb.RunStatus) error {
	return c.write(ctx, "new run "+st.GetRunId(), func(ctx context.Context, f store.Fence) error {
		return c.store.CreateRun(ctx, f, spec, st)
	})
}

func (c *Coordinator) commit(ctx context.Context, cp *pb.Checkpoint, batch *pb.LineageBatch, st *pb.RunStatus, keep int) error {
	return c.write(ctx, "checkpoint of "+cp.GetRunId(), func(ctx context.Context, f store.Fence) error {
		return c.store.Commit(ctx, f, cp, batch, st, keep)
	})
}
