package worker

import (
	"fmt"
	"time"

	"github.com/hashicorp/memberlist"
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
// that does not know this worker); so it does while the members it joined
// know this worker's name at another address (a previous process under
// this name, not yet declared dead: each join announces this one, which
// takes the name over once the old one is dead); when only coordinators of
// another protocol are there for foreignProtocolLimit, it reports an error
// on failed, which ends Run. Start owns it; Shutdown stops and joins it.
func (w *Worker) watchCluster(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(clusterCheckEvery)
	defer tick.Stop()
	var foreignSince time.Time
	claiming := false // the name was held elsewhere at the last check
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
			if err := w.rejoin(); err == nil {
				w.log.Info("no coordinator in the gossip view: re-joined", "join", w.cfg.Join)
			}
			continue // that join also told whether the name is held elsewhere
		}
		switch held := w.peers.heldElsewhere(); {
		case held != "":
			if !claiming {
				w.log.Warn("the cluster knows this worker's gossip name at another address: re-joining until it is handed over "+
					"(a previous process under this name, until it is declared dead; or another live worker with the same --name)",
					"name", w.cfg.Name, "held_by", held)
				claiming = true
			}
			_ = w.rejoin()
		case claiming:
			w.log.Info("the cluster knows this worker's gossip name at its address again", "name", w.cfg.Name)
			claiming = false
		}
	}
}

// rejoin joins the configured addresses again. Their member lists say
// afresh whether this worker's name is held elsewhere (see NotifyMerge);
// if none answered, what was known stays.
func (w *Worker) rejoin() error {
	w.peers.mu.Lock()
	before := w.peers.heldBy
	w.peers.heldBy = ""
	w.peers.mu.Unlock()
	n, err := w.ml.Join(w.cfg.Join)
	if n == 0 {
		w.peers.mu.Lock()
		if w.peers.heldBy == "" {
			w.peers.heldBy = before
		}
		w.peers.mu.Unlock()
	}
	return err
}

// setSelf records this worker's gossip address, once memberlist has it.
func (p *peerWatch) setSelf(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.self = addr
}

// heldElsewhere returns an address other than this worker's own at which a
// member joined since the last rejoin knows this worker's name, or "".
// Safe for concurrent use.
func (p *peerWatch) heldElsewhere() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.heldBy
}

// NotifyMerge implements memberlist.MergeDelegate, which memberlist calls
// with the other side's member list on every join (this worker's or one
// joining it), never on the periodic state exchanges. A list that has this
// worker's name at another address means that member ignores this worker
// (memberlist refuses a name held by another address), which no periodic
// gossip will repair soon: watchCluster joins again until it is fixed.
// Never refuses the merge.
func (p *peerWatch) NotifyMerge(peers []*memberlist.Node) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.self == "" {
		return nil // still starting: Start joins once the address is known
	}
	for _, n := range peers {
		if n.Name == p.name && n.Address() != p.self {
			p.heldBy = n.Address()
		}
	}
	return nil
}
