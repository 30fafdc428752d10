package lineage

import (
	"cmp"
	"fmt"
	"slices"
	"unsafe"
)

// Store is an in-memory phylogeny: every recorded individual of a run that
// has not been pruned, indexed by ID, by generation, by parent and by flag.
//
// A Store is not safe for concurrent use: its owner (the coordinator)
// serialises access. Records go in and come out as deep copies, so callers
// may keep and modify what they pass or receive. Stored records are never
// modified in place, which is what lets Snapshot share them.
//
// Invariant: every parent of a stored record is stored. Add enforces it and
// Prune keeps it, so lines of descent never break.
type Store struct {
	byID     map[uint64]*Record
	ids      []uint64            // ascending
	byGen    map[uint32][]uint64 // ascending within each generation
	children map[uint64][]uint64 // parent → children (any parent), ascending
	flagged  []uint64            // flagged ids, ascending
	maxID    uint64
	any      bool  // at least one record was ever added
	bytes    int64 // Bytes of the stored records
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{byID: map[uint64]*Record{}, byGen: map[uint32][]uint64{}, children: map[uint64][]uint64{}}
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
	for i, p := range r.Parents {
		if slices.Contains(r.Parents[:i], p) {
			return fmt.Errorf("%w: individual %d names parent %d twice", ErrInvalid, r.ID, p)
		}
	}
	c := clone(r)
	s.byID[r.ID] = &c
	s.ids = insertSorted(s.ids, r.ID)
	s.byGen[r.Generation] = insertSorted(s.byGen[r.Generation], r.ID)
	for _, p := range r.Parents {
		s.children[p] = insertSorted(s.children[p], r.ID)
	}
	if r.Flagged {
		s.flagged = insertSorted(s.flagged, r.ID)
	}
	if !s.any || r.ID > s.maxID {
		s.maxID, s.any = r.ID, true
	}
	s.bytes += recordBytes(&c)
	return nil
}

// recordBytes estimates the heap bytes one stored record takes: the struct,
// its slices' backing arrays and string bytes, and the index entries (map
// slot, id lists). An estimate for capacity planning, not a measurement.
func recordBytes(r *Record) int64 {
	const (
		word      = 8
		recSize   = int64(unsafe.Sizeof(Record{}))
		scoreSize = int64(unsafe.Sizeof(ConditionScore{}))
		indexSize = 8*word + 3*word // map slot and pointer; ids, byGen, children entries
	)
	n := recSize + indexSize + int64(len(r.Parents))*word + int64(len(r.Objective))*word
	for _, op := range r.Operators {
		n += 2*word + int64(len(op))
	}
	for _, f := range r.FlagReasons {
		n += 2*word + int64(len(f))
	}
	score := func(c *ConditionScore) int64 {
		return int64(len(c.Condition)+len(c.BehavioralObjective)) + int64(len(c.BehavioralWeights))*word +
			int64(len(c.Episodes))*int64(unsafe.Sizeof(EpisodeScore{}))
	}
	n += score(&r.Train) + score(&r.Identity)
	for i := range r.Shifted {
		n += scoreSize + score(&r.Shifted[i])
	}
	return n
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

// Births returns the number of individuals born so far, stored or pruned:
// the highest ID ever added plus one, 0 for a store never added to. It
// counts correctly when IDs are assigned 0, 1, 2, … in birth order, as the
// base optimizer does, and it survives a checkpoint round trip because the
// newest generation is never pruned.
func (s *Store) Births() uint64 {
	if !s.any {
		return 0
	}
	return s.maxID + 1
}

// Bytes estimates the heap bytes of the stored records and their indexes
// (see recordBytes): what pruning keeps bounded.
func (s *Store) Bytes() int64 { return s.bytes }

// Generations returns the generations that have stored records, ascending.
func (s *Store) Generations() []uint32 {
	gens := make([]uint32, 0, len(s.byGen))
	for g := range s.byGen {
		gens = append(gens, g)
	}
	slices.Sort(gens) // the map's order is discarded here
	return gens
}

// LastGeneration returns the newest generation with stored records and
// false when the store is empty.
func (s *Store) LastGeneration() (uint32, bool) {
	if len(s.ids) == 0 {
		return 0, false
	}
	return s.byID[s.ids[len(s.ids)-1]].Generation, true
}

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

// Pruned reports what Prune removed.
type Pruned struct {
	// Records is the number of records removed.
	Records int
	// Generations lists, ascending, the generations that lost records: the
	// checkpoint batches to rewrite.
	Generations []uint32
}

// Prune drops extinct branches, as phylotrack-style systematics do (Dolson
// et al. 2019, "Interpreting the tape of life", Artificial Life 26(1);
// https://github.com/emilydolson/phylotrackpy). It keeps
//
//   - the records in keep (usually the live population),
//   - every flagged record and every champion (Record.Champion),
//   - every ancestor, via any parent, of a kept record,
//
// and removes everything else. Every line of descent, MRCA and drift origin
// of a kept record stays answerable and Records still restores through Add.
//
// Pruning is idempotent and monotone: a record dropped at generation g would
// be dropped at any later g' too, because the population of g' descends
// from that of g. So pruning every generation, only once at the end, or
// after restoring a checkpoint leaves the same records: the pruned phylogeny
// is a deterministic function of the run. Memory stays bounded by the living
// ancestry plus flagged individuals and champions, not by the births.
//
// It fails, removing nothing, if an id in keep is not stored (ErrNotFound).
func (s *Store) Prune(keep []uint64) (Pruned, error) {
	live := make(map[uint64]bool, len(keep))
	stack := make([]uint64, 0, len(keep)+len(s.flagged))
	for _, id := range keep {
		if _, ok := s.byID[id]; !ok {
			return Pruned{}, fmt.Errorf("%w: individual %d", ErrNotFound, id)
		}
		stack = append(stack, id)
	}
	stack = append(stack, s.flagged...)
	for _, ids := range s.byGen {
		for _, id := range ids { // champions: one per generation; order irrelevant (a set)
			if s.byID[id].Champion {
				stack = append(stack, id)
			}
		}
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
	var out Pruned
	dead := func(id uint64) bool { return !live[id] }
	for _, id := range s.ids {
		if !dead(id) {
			continue
		}
		r := s.byID[id]
		out.Records++
		if n := len(out.Generations); n == 0 || out.Generations[n-1] != r.Generation {
			if !slices.Contains(out.Generations, r.Generation) {
				out.Generations = append(out.Generations, r.Generation)
			}
		}
		s.bytes -= recordBytes(r)
		for _, p := range r.Parents {
			if ch := slices.DeleteFunc(s.children[p], dead); len(ch) == 0 {
				delete(s.children, p)
			} else {
				s.children[p] = ch
			}
		}
		delete(s.children, id)
		delete(s.byID, id)
	}
	if out.Records == 0 {
		return out, nil
	}
	slices.Sort(out.Generations)
	s.ids = slices.DeleteFunc(s.ids, dead)
	for _, g := range out.Generations {
		if ids := slices.DeleteFunc(s.byGen[g], dead); len(ids) == 0 {
			delete(s.byGen, g)
		} else {
			s.byGen[g] = ids
		}
	}
	return out, nil
}
