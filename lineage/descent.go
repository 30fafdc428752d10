package lineage

import "fmt"

// LineOfDescent returns copies of the record id and its primary-parent
// ancestors (following Parents[0]), newest first, ending with a record that
// has no parents (normally of generation 0). It fails with ErrNotFound,
// naming the id, if id is not stored.
func (s *Store) LineOfDescent(id uint64) ([]Record, error) {
	r, ok := s.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w: individual %d", ErrNotFound, id)
	}
	out := []Record{clone(*r)}
	for len(r.Parents) > 0 {
		r = s.byID[r.Parents[0]] // present: Add and Prune keep parents stored
		out = append(out, clone(*r))
	}
	return out, nil
}

// Origin is where a flag began on a line of descent.
type Origin struct {
	// Ancestor is the oldest record of the flagged run (see DriftOrigin);
	// it may be the queried individual itself.
	Ancestor Record
	// Parent is Ancestor's primary parent; nil when Ancestor has no parents
	// (the flag was present from generation 0).
	Parent *Record
	// Operators are the variation operators that produced Ancestor from
	// Parent (Ancestor.Operators); empty when Parent is nil.
	Operators []string
	// ObjectiveBefore is Parent's mesa-objective (nil when Parent is nil or
	// a heuristic) and ObjectiveAfter is Ancestor's: comparing them shows
	// which feature weights the mutation changed.
	ObjectiveBefore, ObjectiveAfter []float64
	// Unanalyzed counts the ancestors just above Ancestor, on its line of
	// descent, that were not evaluated under any shifted condition (see
	// Record.Analyzed). When it is above 0 the flag may have begun in any of
	// them: Ancestor is only the oldest record known to carry it.
	Unanalyzed int
}

// DriftOrigin finds where the flag of individual id began. Walking id's line
// of descent (primary parents) towards generation 0, it takes the run of
// flagged records that ends at id and returns the oldest of them, with its
// primary parent and the operators that produced it.
//
// The run is contiguous: an analysed unflagged ancestor ends it, so a flag
// that appeared, vanished and reappeared is traced to its last appearance,
// the one id inherited. Records never evaluated under a shifted condition
// (the analysis may run only every k generations) neither end the run nor
// start it; Origin.Unanalyzed reports how many of them lie just above the
// origin.
//
// It returns false, with a zero Origin, when id is not flagged, and fails
// with ErrNotFound when id is not stored.
func (s *Store) DriftOrigin(id uint64) (Origin, bool, error) {
	r, ok := s.byID[id]
	if !ok {
		return Origin{}, false, fmt.Errorf("%w: individual %d", ErrNotFound, id)
	}
	if !r.Flagged {
		return Origin{}, false, nil
	}
	origin, unanalyzed := r, 0
walk:
	for len(r.Parents) > 0 {
		r = s.byID[r.Parents[0]]
		switch {
		case !r.Analyzed():
			unanalyzed++
		case r.Flagged:
			origin, unanalyzed = r, 0
		default:
			break walk
		}
	}
	o := Origin{
		Ancestor:       clone(*origin),
		ObjectiveAfter: cloneSlice(origin.Objective),
		Unanalyzed:     unanalyzed,
	}
	if len(origin.Parents) > 0 {
		p := clone(*s.byID[origin.Parents[0]])
		o.Parent = &p
		o.Operators = cloneSlice(origin.Operators)
		o.ObjectiveBefore = cloneSlice(p.Objective)
	}
	return o, true, nil
}

// MRCA returns the most recent common ancestor of a and b along their lines
// of descent (primary parents only), which may be a or b itself. It returns
// false when the lines do not meet (different generation-0 roots), and fails
// with ErrNotFound when a or b is not stored.
func (s *Store) MRCA(a, b uint64) (Record, bool, error) {
	la, err := s.LineOfDescent(a)
	if err != nil {
		return Record{}, false, err
	}
	lb, err := s.LineOfDescent(b)
	if err != nil {
		return Record{}, false, err
	}
	onA := make(map[uint64]bool, len(la))
	for _, r := range la {
		onA[r.ID] = true
	}
	for _, r := range lb {
		if onA[r.ID] {
			return r, true, nil
		}
	}
	return Record{}, false, nil
}
