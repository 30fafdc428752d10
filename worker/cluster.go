package worker

import (
	"fmt"
	"time"
)

// Cluster watch settings: how often a worker looks at its gossip view,
// and how long it tolerates a cluster whose coordinators all speak another
// protocol before it gives up (fail fast rather than idle forever).
const (
	clusterCheckEvery    = time.Second
	foreignProtocolLimit = 5 * time.Second
)

// watchCluster runs until stop is closed. When no coordinator of this
// worker's protocol is in its gossip view it re-joins the configured
// addresses (a coordinator restarted at the same address is a new member
// that does not know this worker); when only coordinators of another
// protocol are there for foreignProtocolLimit, it reports an error on
// failed, which ends Run. Start owns it; Shutdown stops and joins it.
func (w *Worker) watchCluster(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(clusterCheckEvery)
	defer tick.Stop()
	var foreignSince time.Time
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		// Counted from the copy the event callbacks keep: the nodes
		// Members returns are memberlist's own records, which it rewrites
		// on alive messages without a lock the caller could take.
		same, other, otherProto := w.peers.coordinators()
		switch {
		case same > 0:
			foreignSince = time.Time{}
		case other > 0:
			if foreignSince.IsZero() {
				foreignSince = time.Now()
			}
			if time.Since(foreignSince) >= foreignProtocolLimit {
				select {
				case w.failed <- fmt.Errorf("every coordinator in the cluster speaks protocol version %d and refuses this worker (protocol %d): upgrade the older side", otherProto, w.cfg.Protocol):
				default:
				}
				return
			}
		default:
			foreignSince = time.Time{}
			if _, err := w.ml.Join(w.cfg.Join); err == nil {
				w.log.Info("no coordinator in the gossip view: re-joined", "join", w.cfg.Join)
			}
		}
	}
}
