package coordinator

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// term is one tenure as leader: the etcd session whose lease keeps the
// election key alive, and the fence every write of the tenure carries.
type term struct {
	session  *concurrency.Session
	election *concurrency.Election
	fence    Fence
}

// LeaderValue is what a leader writes under the election key, so clients
// (mesactl --etcd) can find its RunService.
type LeaderValue struct {
	Name string `json:"name"`
	GRPC string `json:"grpc"`
}

// campaign opens a fresh session and blocks until this coordinator leads
// or ctx ends.
func (c *Coordinator) campaign(ctx context.Context) (*term, error) {
	session, err := concurrency.NewSession(c.cfg.Etcd, concurrency.WithTTL(c.cfg.SessionTTL), concurrency.WithContext(c.runCtx))
	if err != nil {
		return nil, fmt.Errorf("etcd session: %w", err)
	}
	election := concurrency.NewElection(session, c.store.LeaderPrefix())
	value, _ := json.Marshal(LeaderValue{Name: c.cfg.Name, GRPC: c.GRPCAddr()})
	c.log.Info("campaigning for leadership", "coordinator", c.cfg.Name)
	if err := election.Campaign(ctx, string(value)); err != nil {
		_ = session.Close()
		return nil, fmt.Errorf("campaign: %w", err)
	}
	return &term{session: session, election: election, fence: Fence{Key: election.Key(), Rev: election.Rev()}}, nil
}

// fenceNow returns the fence of the current term, or ErrNotLeader.
func (c *Coordinator) fenceNow() (Fence, error) {
	t := c.term.Load()
	if t == nil {
		return Fence{}, fmt.Errorf("%w: coordinator %s holds no leadership", ErrNotLeader, c.cfg.Name)
	}
	return t.fence, nil
}

// watchTerm blocks while t lasts. It returns true when the term is lost:
// the session ended, or no keepalive was confirmed for so long that the
// lease may have expired in etcd (the local deadline: remaining TTL as
// last confirmed, minus a margin for clock rates and the round trip). It
// returns false when the coordinator shuts down.
func (c *Coordinator) watchTerm(t *term) bool {
	ttl := time.Duration(c.cfg.SessionTTL) * time.Second
	margin := max(ttl/4, time.Second)
	deadline := time.Now().Add(ttl - margin)
	tick := time.NewTicker(ttl / 5)
	defer tick.Stop()
	for {
		select {
		case <-c.runCtx.Done():
			return false
		case <-t.session.Done():
			return true
		case <-tick.C:
			sent := time.Now()
			ctx, cancel := context.WithTimeout(c.runCtx, ttl/5)
			resp, err := c.cfg.Etcd.TimeToLive(ctx, t.session.Lease())
			cancel()
			if err == nil && resp.TTL > 0 {
				deadline = sent.Add(time.Duration(resp.TTL)*time.Second - margin)
			}
			if err == nil && resp.TTL <= 0 {
				return true // the lease is gone
			}
			if time.Now().After(deadline) {
				return true
			}
		}
	}
}

// keepLeading watches the current term; when it is lost it demotes this
// coordinator (stops its runs: they can no longer write), campaigns again
// with a fresh session, and on winning resumes the stopped runs from their
// checkpoints. It runs until shutdown; Start owns it, Shutdown joins it.
func (c *Coordinator) keepLeading(t *term) {
	defer c.wg.Done()
	for {
		if !c.watchTerm(t) {
			return
		}
		c.leading.Store(false)
		c.term.Store(nil)
		c.log.Error("leadership lost (etcd unreachable or session expired): stopping runs, campaigning again", "coordinator", c.cfg.Name)
		stopped := c.stopRuns()
		_ = t.session.Close()
		backoff := 200 * time.Millisecond
		for {
			if c.runCtx.Err() != nil {
				return
			}
			nt, err := c.campaign(c.runCtx)
			if err == nil {
				t = nt
				break
			}
			c.log.Warn("campaign failed; retrying", "in", backoff, "err", err)
			select {
			case <-c.runCtx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
		c.term.Store(t)
		c.leading.Store(true)
		c.log.Info("leading again", "coordinator", c.cfg.Name)
		ctx, cancel := context.WithTimeout(c.runCtx, 30*time.Second)
		for _, id := range stopped {
			if err := c.Resume(ctx, id); err != nil {
				c.log.Error("resume after regaining leadership", "run", id, "err", err)
			}
		}
		if err := c.adoptOrphans(ctx); err != nil {
			c.log.Error("adopting runs", "err", err)
		}
		cancel()
	}
}

// stopRuns cancels every run executing here, waits for them and returns
// their ids in id order.
func (c *Coordinator) stopRuns() []string {
	c.mu.Lock()
	var active []*activeRun
	for _, ar := range c.runs {
		select {
		case <-ar.done:
		default:
			active = append(active, ar)
		}
	}
	c.mu.Unlock()
	ids := make([]string, 0, len(active))
	for _, ar := range active {
		ar.cancel()
	}
	for _, ar := range active {
		<-ar.done
		ids = append(ids, ar.id)
	}
	slices.Sort(ids)
	return ids
}

// LeaderAddress reads the current leader's RunService address from etcd
// (the election key with the lowest creation revision under prefix).
func LeaderAddress(ctx context.Context, cli *clientv3.Client, prefix string) (LeaderValue, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	resp, err := cli.Get(ctx, prefix+"leader/", clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend), clientv3.WithLimit(1))
	if err != nil {
		return LeaderValue{}, fmt.Errorf("etcd: leader: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return LeaderValue{}, fmt.Errorf("%w: no coordinator leads (nothing under %sleader/)", ErrNotFound, prefix)
	}
	var v LeaderValue
	if err := json.Unmarshal(resp.Kvs[0].Value, &v); err != nil {
		return LeaderValue{}, fmt.Errorf("etcd: leader value %q: %w", resp.Kvs[0].Value, err)
	}
	return v, nil
}

func isDone(ar *activeRun) bool {
	select {
	case <-ar.done:
		return true
	default:
		return false
	}
}
