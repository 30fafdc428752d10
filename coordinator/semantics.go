package coordinator

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/mesaopt/mesaopt/coordinator/dispatch"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
	"github.com/mesaopt/mesaopt/worker"
)

// pinSemantics returns ctx under which the run's batches go only to
// workers of its evaluation digest: the one st records, or, at a run's
// first launch (or for a run recorded before digests were), this
// coordinator's own build's, recorded in st with the next status write.
// A resume or failover that finds workers but none of that digest says
// so: the run waits for one, or can be forked to continue under the
// workers' semantics.
func (c *Coordinator) pinSemantics(ctx context.Context, ar *activeRun, st *pb.RunStatus, resumed bool) context.Context {
	if st.GetEvaluationDigest() == "" {
		st.EvaluationDigest = worker.EvaluationDigest()
	}
	digest := st.GetEvaluationDigest()
	c.mu.Lock()
	c.digests[ar.id] = digest
	c.mu.Unlock()
	c.announceDigests()
	if resumed && c.dispatcher != nil {
		if n, _ := c.dispatcher.Workers(); n > 0 && c.dispatcher.MatchingWorkers(digest) == 0 {
			c.log.Error("no worker has the evaluation digest this run started with: it waits for one; "+
				"to continue under the workers' evaluation semantics instead, fork it: mesactl run fork "+ar.id+" --generation N",
				"run", ar.id, "evaluation_digest", digest, "coordinator_digest", worker.EvaluationDigest(), "workers", n)
		}
	}
	return dispatch.WithEvaluationDigest(ctx, digest)
}

// unpinSemantics forgets a run's digest once it stopped here.
func (c *Coordinator) unpinSemantics(id string) {
	c.mu.Lock()
	_, ok := c.digests[id]
	delete(c.digests, id)
	c.mu.Unlock()
	if ok {
		c.announceDigests()
	}
}

// announceDigests spreads, in this coordinator's gossip metadata, the
// evaluation digests its runs require (worker.Meta.RunDigests), so that a
// worker of another digest can log why it gets no work.
func (c *Coordinator) announceDigests() {
	if c.ml == nil || c.metaSet == nil {
		return
	}
	c.mu.Lock()
	var ds []string
	for _, d := range c.digests { // sorted below
		ds = append(ds, d)
	}
	c.mu.Unlock()
	slices.Sort(ds)
	ds = slices.Compact(ds)
	if len(ds) > worker.MaxRunDigests {
		ds = ds[:worker.MaxRunDigests]
	}
	m := c.meta
	m.RunDigests = strings.Join(ds, ",")
	b, err := m.Encode()
	if err != nil {
		c.log.Warn("announcing the runs' evaluation digests", "err", err)
		return
	}
	c.metaSet.Set(b)
	// The update is queued for gossip either way; waiting for it to go
	// out would only delay a run's start or end (and Shutdown, once per
	// run).
	_ = c.ml.UpdateNode(50 * time.Millisecond)
}
