package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/mesaopt/mesaopt/coordinator/store"
	"github.com/mesaopt/mesaopt/internal/retry"
)

// term is one tenure as leader: the etcd session whose lease keeps the
// election key alive, and the fence every write of the tenure carries.
type term struct {
	session  *concurrency.Session
	election *concurrency.Election
	fence    store.Fence
	granted  time.Time // when the session's lease was requested
	won      time.Time // when the campaign returned
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
	granted := time.Now()
	session, err := concurrency.NewSession(c.cfg.Etcd, concurrency.WithTTL(c.cfg.SessionTTL), concurrency.WithContext(c.runCtx))
	if err != nil {
		return nil, fmt.Errorf("etcd session: %w", err)
	}
	election := concurrency.NewElection(session, c.store.LeaderPrefix())
	value, _ := json.Marshal(LeaderValue{Name: c.cfg.Name, GRPC: c.AdvertisedGRPC()})
	c.log.Info("campaigning for leadership", "coordinator", c.cfg.Name)
	if err := election.Campaign(ctx, string(value)); err != nil {
		_ = session.Close()
		return nil, fmt.Errorf("campaign: %w", err)
	}
	return &term{session: session, election: election, fence: store.Fence{Key: election.Key(), Rev: election.Rev()}, granted: granted, won: time.Now()}, nil
}

// campaignUntil campaigns until this coordinator leads, ctx ends or the
// coordinator shuts down. A standby may wait in it for a long time; a
// campaign that fails for another reason (etcd compacted the revision it
// watched, a lost connection) is retried with backoff.
func (c *Coordinator) campaignUntil(ctx context.Context) (*term, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.runCtx, cancel)()
	var t *term
	err := retry.Until(ctx, retry.Policy{First: 200 * time.Millisecond, Max: 5 * time.Second}, func(_ int, err error, pause time.Duration) {
		c.log.Warn("campaign failed; retrying", "in", pause, "err", err)
	}, func() (err error) {
		t, err = c.campaign(ctx)
		return err
	})
	return t, err
}

// fenceNow returns the fence of the current term, or ErrNotLeader.
func (c *Coordinator) fenceNow() (store.Fence, error) {
	t := c.term.Load()
	if t == nil {
		return store.Fence{}, fmt.Errorf("%w: coordinator %s holds no leadership", ErrNotLeader, c.cfg.Name)
	}
	return t.fence, nil
}

// Lease clock settings. The local deadline of a term is the send time of
// the last confirmed keepalive plus the granted TTL, less leaseDriftMargin
// of the TTL: etcd restarts a lease's TTL when it receives a keepalive,
// which is after we sent it, so the lease lives at least that long in
// etcd's time; the margin covers a server clock that runs faster than ours
// (NTP-disciplined clocks differ by parts per million; 5 % is generous and
// still leaves 1.9 s of a 2 s TTL). The keepalive is renewed every
// leaseChecks-th of the TTL, so a term survives leaseChecks−1 lost or slow
// round trips in a row.
const (
	leaseDriftMargin = 0.05
	leaseChecks      = 6
)

// leaseClock tracks until when a term's lease is known to be alive in
// etcd. It is pure: the caller reports when each keepalive was sent and
// what etcd granted.
type leaseClock struct {
	margin   float64
	deadline time.Time
}

// confirmed records a keepalive sent at sent that etcd answered with a
// granted TTL of ttl: the lease lives at least until sent + ttl there.
func (l *leaseClock) confirmed(sent time.Time, ttl time.Duration) {
	if d := sent.Add(ttl - time.Duration(l.margin*float64(ttl))); d.After(l.deadline) {
		l.deadline = d
	}
}

// expired reports whether the lease may have expired by now.
func (l *leaseClock) expired(now time.Time) bool { return !now.Before(l.deadline) }

// watchTerm blocks while t lasts. It returns true when the term is lost:
// the session ended, etcd says the lease is gone, or no keepalive was
// confirmed for so long that the lease may have expired in etcd (see
// leaseClock). It returns false when the coordinator shuts down.
//
// It renews the lease itself (KeepAliveOnce, besides the session's own
// keepalive stream) because only a request whose send time is known
// bounds the lease's expiry: etcd reports the remaining TTL in whole
// seconds, which at a short TTL leaves no slack at all.
func (c *Coordinator) watchTerm(t *term) bool {
	ttl := time.Duration(c.cfg.SessionTTL) * time.Second
	// Until the first confirmation: the lease was granted for the TTL no
	// earlier than it was requested; a standby that waited longer has had
	// it renewed by the session every third of the TTL, so a third is
	// assumed left when the campaign returned. Confirm at once rather than
	// lean on either.
	clock := leaseClock{margin: leaseDriftMargin, deadline: t.won.Add(ttl / 3)}
	clock.confirmed(t.granted, ttl)
	every := ttl / leaseChecks
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		sent := time.Now()
		ctx, cancel := context.WithDeadline(c.runCtx, clock.deadline)
		resp, err := c.cfg.Etcd.KeepAliveOnce(ctx, t.session.Lease())
		cancel()
		switch {
		case err == nil:
			clock.confirmed(sent, time.Duration(resp.TTL)*time.Second)
		case errors.Is(err, rpctypes.ErrLeaseNotFound):
			return true // the lease expired or was revoked
		case c.runCtx.Err() != nil:
			return false
		}
		if clock.expired(time.Now()) {
			return true
		}
		select {
		case <-c.runCtx.Done():
			return false
		case <-t.session.Done():
			return true
		case <-tick.C:
		}
		if clock.expired(time.Now()) {
			return true // paused (SIGSTOP, starved) past the deadline
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
		// Readiness follows leadership: a probe (Kubernetes, compose,
		// mesactl with several addresses) must not take a demoted
		// coordinator for the leader.
		c.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
		c.log.Error("leadership lost (etcd unreachable or session expired): stopping runs, campaigning again", "coordinator", c.cfg.Name)
		stopped := c.stopRuns()
		_ = t.session.Close()
		nt, err := c.campaignUntil(c.runCtx)
		if err != nil {
			return // shutting down
		}
		t = nt
		c.term.Store(t)
		c.leading.Store(true)
		c.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
		c.log.Info("leading again", "coordinator", c.cfg.Name)
		ctx, cancel := context.WithTimeout(c.runCtx, 30*time.Second)
		for _, id := range stopped {
			// Another leader may have finished the run meanwhile.
			if err := c.Resume(ctx, id); errors.Is(err, ErrFinished) {
				c.log.Info("run finished by another leader meanwhile", "run", id)
			} else if err != nil {
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
		prefix = store.DefaultPrefix
	}
	resp, err := cli.Get(ctx, prefix+"leader/", clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend), clientv3.WithLimit(1))
	if err != nil {
		return LeaderValue{}, fmt.Errorf("etcd: leader: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return LeaderValue{}, fmt.Errorf("%w: no coordinator leads (nothing under %sleader/)", store.ErrNotFound, prefix)
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
