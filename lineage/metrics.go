package lineage

import (
	"fmt"

	"github.com/mesaopt/mesaopt/genome"
)

// Metrics are phylogenetic statistics of one set of extant individuals,
// usually one generation's population, measured on the tree of primary
// parents (Parents[0]) with branch lengths in generations (a child's
// generation minus its primary parent's). A crossover's second parent does
// not add a branch, as in a tree-based (not network) phylogeny.
//
// Definitions follow the phylogenetic-diversity literature surveyed by
// Tucker et al. 2017, "A guide to phylogenetic metrics for conservation,
// community ecology and macroecology", Biological Reviews 92(2):
// PD is Faith's phylogenetic diversity, MPD the mean pairwise distance.
type Metrics struct {
	// Generation the metrics describe.
	Generation uint32
	// Extant is the number of individuals measured.
	Extant int
	// Coalesced reports whether all extant lines of descent meet in one
	// common ancestor (false when they trace back to different generation-0
	// roots, or for an empty set).
	Coalesced bool
	// MRCA is the ID of the most recent common ancestor when Coalesced.
	MRCA uint64
	// MRCADepth is the time to coalescence in generations: Generation minus
	// the MRCA's generation, ≥ 1 for two or more members of one generation;
	// 0 when not Coalesced.
	MRCADepth uint32
	// Roots is the number of distinct generation-0 roots the extant lines
	// lead to (1 when Coalesced).
	Roots int
	// PD is Faith's phylogenetic diversity in generations: the total branch
	// length of the minimal subtree connecting the extant individuals,
	// rooted at their MRCA; when not coalesced, the sum over the roots of
	// the minimal subtree of each root's extant descendants. 0 for fewer
	// than two extant individuals in every tree.
	PD float64
	// MPD is the mean pairwise patristic distance in generations over the
	// pairs of extant individuals that share a root (pairs across roots
	// have no common ancestor and are left out); 0 when there is no such
	// pair. Two siblings are 2 apart.
	MPD float64
	// Pairs is the number of pairs MPD averages over.
	Pairs int
	// PlannerShare and FlaggedShare are the fractions of extant individuals
	// that are planner policies and that are flagged, in [0,1].
	PlannerShare, FlaggedShare float64
}

// Measure computes Metrics of the stored records ids (the extant set), as
// of generation gen. Cost: O(T log T) for T the records on the extant
// lines below their most recent common ancestors; the lines above them
// (back to generation 0) are not visited, so a long run costs no more per
// generation than a short one. It fails with ErrNotFound naming the first
// id not stored, and with ErrInvalid for an id listed twice.
func (s *Store) Measure(gen uint32, ids []uint64) (Metrics, error) {
	m := Metrics{Generation: gen, Extant: len(ids)}
	count := make(map[uint64]int, 2*len(ids)) // extant individuals at or below a node
	size := map[uint64]int{}                  // extant per root
	var h nodeHeap
	for _, id := range ids {
		r, ok := s.byID[id]
		if !ok {
			return Metrics{}, fmt.Errorf("%w: individual %d", ErrNotFound, id)
		}
		if count[id] > 0 {
			return Metrics{}, fmt.Errorf("%w: individual %d listed twice", ErrInvalid, id)
		}
		if r.Kind == genome.KindPlanner {
			m.PlannerShare++
		}
		if r.Flagged {
			m.FlaggedShare++
		}
		count[id] = 1
		size[s.meta[id].root]++
		h.push(r.Generation, id)
	}
	if m.Extant > 0 {
		m.PlannerShare /= float64(m.Extant)
		m.FlaggedShare /= float64(m.Extant)
	}
	m.Roots = len(size)
	// Children before parents: a child is from a later generation, so
	// descending (generation, id) order has every count final when its node
	// is taken. A node whose count covers every extant individual of its
	// tree is that tree's MRCA: nothing above it adds to PD or MPD.
	var pd, pairSum float64 // sums in descending (generation, id) order
	for h.len() > 0 {
		id := h.pop()
		r := s.byID[id]
		c, n := count[id], size[s.meta[id].root]
		if c == n {
			if m.Roots == 1 {
				m.Coalesced, m.MRCA = true, id
				m.MRCADepth = gen - r.Generation
			}
			continue
		}
		p := r.Parents[0] // a node below its tree's root has parents
		if _, seen := count[p]; !seen {
			h.push(s.byID[p].Generation, p)
		}
		count[p] += c
		length := float64(r.Generation - s.byID[p].Generation)
		pd += length
		pairSum += length * float64(c) * float64(n-c)
	}
	m.PD = pd
	for _, n := range size {
		m.Pairs += n * (n - 1) / 2
	}
	if m.Pairs > 0 {
		m.MPD = pairSum / float64(m.Pairs)
	}
	return m, nil
}

// nodeHeap is a max-heap of records by (generation, id).
type nodeHeap struct{ keys []nodeKey }

type nodeKey struct {
	gen uint32
	id  uint64
}

func (k nodeKey) above(o nodeKey) bool { return k.gen > o.gen || (k.gen == o.gen && k.id > o.id) }

func (h *nodeHeap) len() int { return len(h.keys) }

func (h *nodeHeap) push(gen uint32, id uint64) {
	h.keys = append(h.keys, nodeKey{gen, id})
	for i := len(h.keys) - 1; i > 0; {
		up := (i - 1) / 2
		if !h.keys[i].above(h.keys[up]) {
			break
		}
		h.keys[i], h.keys[up] = h.keys[up], h.keys[i]
		i = up
	}
}

func (h *nodeHeap) pop() uint64 {
	top := h.keys[0].id
	n := len(h.keys) - 1
	h.keys[0] = h.keys[n]
	h.keys = h.keys[:n]
	for i := 0; ; {
		big, l, r := i, 2*i+1, 2*i+2
		if l < n && h.keys[l].above(h.keys[big]) {
			big = l
		}
		if r < n && h.keys[r].above(h.keys[big]) {
			big = r
		}
		if big == i {
			return top
		}
		h.keys[i], h.keys[big] = h.keys[big], h.keys[i]
		i = big
	}
}
