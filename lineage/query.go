package lineage

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/mesaopt/mesaopt/genome"
)

// Descendants returns copies of the stored descendants of id, via any
// parent, at most maxDepth generations of descent below it (children are
// depth 1), ordered by depth, then ID ascending; id itself is not included.
// At most limit records are returned; truncated reports that more exist.
// Pruned branches are not visible. It fails with ErrNotFound when id is
// not stored and with ErrInvalid when maxDepth or limit is below 1.
func (s *Store) Descendants(id uint64, maxDepth, limit int) (out []Record, truncated bool, err error) {
	if _, ok := s.byID[id]; !ok {
		return nil, false, fmt.Errorf("%w: individual %d", ErrNotFound, id)
	}
	if maxDepth < 1 || limit < 1 {
		return nil, false, fmt.Errorf("%w: max_depth = %d, limit = %d, allowed at least 1", ErrInvalid, maxDepth, limit)
	}
	seen := map[uint64]bool{id: true}
	level := []uint64{id}
	for depth := 1; depth <= maxDepth && len(level) > 0; depth++ {
		var next []uint64
		for _, p := range level {
			for _, c := range s.children[p] {
				if !seen[c] {
					seen[c] = true
					next = append(next, c)
				}
			}
		}
		slices.Sort(next)
		for _, c := range next {
			if len(out) == limit {
				return out, true, nil
			}
			out = append(out, clone(*s.byID[c]))
		}
		level = next
	}
	return out, false, nil
}

// MRCAOf returns the most recent common ancestor of every id in ids along
// their lines of descent (primary parents only, as LineOfDescent), which may
// be one of them, and its depth: the number of generations from the
// youngest of ids back to it (0 when the MRCA is that youngest individual).
// It returns false when the lines do not all meet (different generation-0
// roots). It fails with ErrNotFound naming the first unknown id and with
// ErrInvalid for an empty ids.
func (s *Store) MRCAOf(ids []uint64) (Record, uint32, bool, error) {
	if len(ids) == 0 {
		return Record{}, 0, false, fmt.Errorf("%w: MRCA of no individuals, allowed at least one id", ErrInvalid)
	}
	var youngest uint32
	for _, id := range ids {
		r, ok := s.byID[id]
		if !ok {
			return Record{}, 0, false, fmt.Errorf("%w: individual %d", ErrNotFound, id)
		}
		youngest = max(youngest, r.Generation)
	}
	// Count, for each ancestor, how many distinct queried lines pass through it.
	hits := map[uint64]int{}
	var first []uint64 // the first line, newest first
	distinct := 0
	for i, id := range ids {
		if slices.Contains(ids[:i], id) {
			continue
		}
		distinct++
		for r := s.byID[id]; ; r = s.byID[r.Parents[0]] {
			hits[r.ID]++
			if distinct == 1 {
				first = append(first, r.ID)
			}
			if len(r.Parents) == 0 {
				break
			}
		}
	}
	for _, a := range first { // newest first: the first shared one is the MRCA
		if hits[a] == distinct {
			r := s.byID[a]
			return clone(*r), youngest - r.Generation, true, nil
		}
	}
	return Record{}, 0, false, nil
}

// Filter selects flagged records for Store.ListFlagged. The zero Filter
// selects every flagged record.
type Filter struct {
	// Kind, when not 0, keeps only that genome kind.
	Kind genome.Kind
	// Condition, when not "", keeps records flagged under that shifted
	// condition (ConditionScore.Flagged), and is where Class is looked at.
	Condition string
	// Class, when not ClassUnknown, keeps records of that class under
	// Condition, or under any shifted condition when Condition is "".
	Class Class
	// MinGeneration and MaxGeneration bound the generation of birth,
	// inclusive.
	MinGeneration, MaxGeneration uint32
}

// DefaultFilter returns a Filter over every generation.
func DefaultFilter() Filter { return Filter{MaxGeneration: ^uint32(0)} }

// Validate reports a filter whose MinGeneration exceeds MaxGeneration or
// whose Class is undefined; the error names the field and wraps ErrInvalid.
func (f Filter) Validate() error {
	if f.MinGeneration > f.MaxGeneration {
		return fmt.Errorf("%w: min_generation = %d is above max_generation = %d", ErrInvalid, f.MinGeneration, f.MaxGeneration)
	}
	if int(f.Class) >= NumClasses {
		return fmt.Errorf("%w: classification = %d, allowed 0..%d", ErrInvalid, f.Class, NumClasses-1)
	}
	return nil
}

// Match reports whether r is flagged and passes f.
func (f Filter) Match(r *Record) bool {
	if !r.Flagged || r.Generation < f.MinGeneration || r.Generation > f.MaxGeneration {
		return false
	}
	if f.Kind != 0 && r.Kind != f.Kind {
		return false
	}
	if f.Condition == "" && f.Class == ClassUnknown {
		return true
	}
	for i := range r.Shifted {
		c := &r.Shifted[i]
		if f.Condition != "" && (c.Condition != f.Condition || !c.Flagged) {
			continue
		}
		if f.Class == ClassUnknown || c.Class == f.Class {
			return true
		}
	}
	return false
}

// ListFlagged returns copies of the flagged records that pass f, in
// generation order and, within a generation, by Fitness descending (NaN
// last), then ID ascending, skipping the first offset of them and returning
// at most limit. more reports that records beyond the page exist. Flagged
// records are never pruned and later generations only add to the end, so
// an offset stays valid while a run proceeds. Cost: O(flagged records in
// the generation range), through an index of the flagged IDs.
func (s *Store) ListFlagged(f Filter, offset, limit int) (page []Record, more bool) {
	lo, _ := slices.BinarySearchFunc(s.flagged, f.MinGeneration, func(id uint64, g uint32) int {
		return cmp.Compare(s.byID[id].Generation, g)
	})
	seen := 0
	var gen []*Record // one generation's matches, to sort by fitness
	flush := func() bool {
		slices.SortFunc(gen, func(a, b *Record) int {
			if fitter(*a, *b) {
				return -1
			}
			if fitter(*b, *a) {
				return 1
			}
			return 0
		})
		for _, r := range gen {
			if seen >= offset {
				if len(page) == limit {
					more = true
					return false
				}
				page = append(page, clone(*r))
			}
			seen++
		}
		gen = gen[:0]
		return true
	}
	for _, id := range s.flagged[lo:] {
		r := s.byID[id]
		if r.Generation > f.MaxGeneration {
			break
		}
		if len(gen) > 0 && gen[0].Generation != r.Generation && !flush() {
			return page, more
		}
		if f.Match(r) {
			gen = append(gen, r)
		}
	}
	flush()
	return page, more
}
