package lineage

import (
	"cmp"
	"fmt"
	"slices"
)

// Store is an in-memory phylogeny: every recorded individual of a run that
// has not been pruned, indexed by ID and by generation.
//
// A Store is not safe for concurrent use: its owner (the coordinator)
// serialises access. Records go in and come out as deep copies, so callers
// may keep and modify what they pass or receive.
//
// Invariant: every parent of a stored record is stored. Add enforces it and
// Prune keeps it, so lines of descent never break.
type Store struct {
	byID  map[uint64]*Record
	ids   []uint64            // ascending
	byGen map[uint32][]uint64 // ascending within each generation
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{byID: map[uint64]*Record{}, byGen: map[uint32][]uint64{}}
}

// Add stores a copy of r. It fails, storing nothing, if r.ID is already
// stored (ErrDuplicate), if a parent is not stored (ErrUnknownParent), or if
// a parent is not from an earlier generation than r (ErrInvalid); the error
// names the ids. Records may therefore arrive generation by generation, in
// any order within a generation.
func (s *Store) Add(r Record) error {
	if _, ok := s.byID[r.ID]; ok {
		return fmt.Errorf("%w: individual %d", ErrDuplicate, r.ID)
	}
	for _, p := range r.Parents {
		pr, ok := s.byID[p]
		if !ok {
			return fmt.Errorf("%w: individual %d names parent %d", ErrUnknownParent, r.ID, p)
		}
		if pr.Generation >= r.Generation {
			return fmt.Errorf("%w: individual %d of generation %d names parent %d of generation %d, allowed a parent from an earlier generation",
				ErrInvalid, r.ID, r.Generation, p, pr.Generation)
		}
	}
	c := clone(r)
	s.byID[r.ID] = &c
	s.ids = insertSorted(s.ids, r.ID)
	s.byGen[r.Generation] = insertSorted(s.byGen[r.Generation], r.ID)
	return nil
}

// insertSorted inserts id into the ascending slice ids; appending is the
// common case, as IDs usually grow.
func insertSorted(ids []uint64, id uint64) []uint64 {
	if n := len(ids); n == 0 || ids[n-1] < id {
		return append(ids, id)
	}
	i, _ := slices.BinarySearch(ids, id)
	return slices.Insert(ids, i, id)
}

// Get returns a copy of the record with the given ID, and whether it is
// stored.
func (s *Store) Get(id uint64) (Record, bool) {
	r, ok := s.byID[id]
	if !ok {
		return Record{}, false
	}
	return clone(*r), true
}

// Len returns the number of stored records.
func (s *Store) Len() int { return len(s.ids) }

// Records returns copies of all stored records in ascending ID order: the
// form a checkpoint stores. Adding them in this order to a NewStore restores
// the store when children have higher IDs than their parents.
func (s *Store) Records() []Record {
	return s.collect(s.ids)
}

// Generation returns copies of the stored records of generation g in
// ascending ID order; empty if there are none.
func (s *Store) Generation(g uint32) []Record {
	return s.collect(s.byGen[g])
}

// Flagged returns copies of the flagged records of generation g, by
// Fitness descending (NaN last), then ID ascending.
func (s *Store) Flagged(g uint32) []Record {
	var out []Record
	for _, id := range s.byGen[g] {
		if r := s.byID[id]; r.Flagged {
			out = append(out, clone(*r))
		}
	}
	slices.SortFunc(out, func(a, b Record) int {
		if c := cmp.Compare(b.Fitness, a.Fitness); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

func (s *Store) collect(ids []uint64) []Record {
	out := make([]Record, len(ids))
	for i, id := range ids {
		out[i] = clone(*s.byID[id])
	}
	return out
}

// Prune removes every record that is neither in keep nor an ancestor (via
// any parent, not only the primary one) of a record in keep, and returns how
// many it removed. keep is usually the live population: extinct branches
// go, while every line of descent, MRCA and drift origin of the kept
// individuals stays answerable and Records still restores through Add. It
// fails, removing nothing, if an id in keep is not stored (ErrNotFound).
func (s *Store) Prune(keep []uint64) (int, error) {
	live := make(map[uint64]bool, len(keep))
	stack := make([]uint64, 0, len(keep))
	for _, id := range keep {
		if _, ok := s.byID[id]; !ok {
			return 0, fmt.Errorf("%w: individual %d", ErrNotFound, id)
		}
		stack = append(stack, id)
	}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if live[id] {
			continue
		}
		live[id] = true
		stack = append(stack, s.byID[id].Parents...)
	}
	dead := func(id uint64) bool { return !live[id] }
	before := len(s.ids)
	for _, id := range s.ids {
		if dead(id) {
			delete(s.byID, id)
		}
	}
	s.ids = slices.DeleteFunc(s.ids, dead)
	// Each generation is filtered on its own, so the map's order is irrelevant.
	for g, ids := range s.byGen {
		if ids = slices.DeleteFunc(ids, dead); len(ids) == 0 {
			delete(s.byGen, g)
		} else {
			s.byGen[g] = ids
		}
	}
	return before - len(s.ids), nil
}
