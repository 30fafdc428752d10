package lineage

import (
	"fmt"
	"slices"

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
// of generation gen. Cost: O(A log A) for A the ancestors of ids. It fails
// with ErrNotFound naming the first id not stored, and with ErrInvalid for
// an id listed twice.
func (s *Store) Measure(gen uint32, ids []uint64) (Metrics, error) {
	m := Metrics{Generation: gen, Extant: len(ids)}
	count := make(map[uint64]int, 2*len(ids)) // extant individuals at or below a node
	var nodes []uint64                        // every node on an extant line
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
		for len(r.Parents) > 0 {
			p := r.Parents[0]
			if _, seen := count[p]; seen {
				break
			}
			count[p] = 0
			r = s.byID[p]
		}
	}
	if m.Extant > 0 {
		m.PlannerShare /= float64(m.Extant)
		m.FlaggedShare /= float64(m.Extant)
	}
	for id := range count {
		nodes = append(nodes, id)
	}
	// Children before parents: a child is from a later generation, so
	// descending (generation, id) order propagates counts upwards.
	slices.SortFunc(nodes, func(a, b uint64) int {
		ra, rb := s.byID[a], s.byID[b]
		if ra.Generation != rb.Generation {
			return int(rb.Generation) - int(ra.Generation)
		}
		switch {
		case a > b:
			return -1
		case a < b:
			return 1
		}
		return 0
	})
	rootOf := map[uint64]uint64{}
	for _, id := range slices.Backward(nodes) { // parents first
		r := s.byID[id]
		if len(r.Parents) == 0 {
			rootOf[id] = id
		} else {
			rootOf[id] = rootOf[r.Parents[0]]
		}
	}
	size := map[uint64]int{} // extant per root
	for _, id := range ids {
		size[rootOf[id]]++
	}
	m.Roots = len(size)
	var pd, pairSum float64 // sums in the fixed order of nodes
	for _, id := range nodes {
		r := s.byID[id]
		if len(r.Parents) == 0 {
			continue
		}
		p := r.Parents[0]
		count[p] += count[id]
		c, n := count[id], size[rootOf[id]]
		if c == 0 || c == n {
			continue // off every extant line, or above the MRCA of its tree
		}
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
	if m.Roots == 1 {
		// The MRCA is the newest node whose count covers every extant one.
		for _, id := range nodes {
			if count[id] == m.Extant {
				m.Coalesced, m.MRCA = true, id
				m.MRCADepth = gen - s.byID[id].Generation
				break
			}
		}
	}
	return m, nil
}
