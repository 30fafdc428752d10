package lineage

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"unsafe"
)

// Store is an in-memory phylogeny: every recorded individual of a run that
// has not been pruned, indexed by ID, by generation, by parent and by flag.
//
// A Store is not safe for concurrent use: its owner (the coordinator)
// serialises access. Records go in and come out as deep copies (but for
// VisitGeneration, which lends the stored ones), so callers may keep and
// modify what they pass or receive. Stored records are never
// modified in place, which is what lets Snapshot share them.
//
// Invariant: every parent of a stored record is stored. Add enforces it and
// Prune keeps it, so lines of descent never break.
type Store struct {
	byID     map[uint64]*Record
	meta     map[uint64]meta     // per stored record, what Add derived from it
	ids      []uint64            // ascending
	byGen    map[uint32][]uint64 // ascending within each generation
	children map[uint64][]uint64 // parent → children (any parent), ascending
	flagged  []uint64            // flagged ids, ascending
	leaves   map[uint64]struct{} // unpinned records without stored children: where Prune starts
	maxID    uint64
	any      bool  // at least one record was ever added
	bytes    int64 // Bytes of the stored records
	size     func(Record) int64
	encoded  int64 // EncodedBytes of the stored records
}

// meta is what the Store keeps beside a record.
type meta struct {
	root    uint64 // the generation-0 end of its primary-parent line
	encoded int64  // its size as given to WithEncodedSize; 0 without one
}

// StoreOption configures a Store at construction.
type StoreOption func(*Store)

// WithEncodedSize makes the Store keep EncodedBytes, the running total of
// size over its records (e.g. each record's protobuf size: what a
// checkpoint of them takes). size is called once for each added record,
// must depend on the record alone and return bytes ≥ 0.
func WithEncodedSize(size func(Record) int64) StoreOption {
	return func(s *Store) { s.size = size }
}

// NewStore returns an empty Store.
func NewStore(opts ...StoreOption) *Store {
	s := &Store{byID: map[uint64]*Record{}, meta: map[uint64]meta{}, byGen: map[uint32][]uint64{},
		children: map[uint64][]uint64{}, leaves: map[uint64]struct{}{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// pinned reports whether Prune keeps r whatever it is given: flagged
// records and champions, with their ancestors.
func pinned(r *Record) bool { return r.Flagged || r.Champion }

// Add stores a copy of r. It fails, storing nothing, if r.ID is already
// stored (ErrDuplicate), if a parent is not stored (ErrUnknownParent), or if
// a parent is not from an earlier generation than r (ErrInvalid); the error
// names the ids. Records may therefore arrive generation by generation, in
// any order within a generation.
func (s *Store) Add(r Record) error {
	return s.add(r, -1)
}

// AddSized is Add for a caller that has r's encoded size at hand anyway
// (what WithEncodedSize's function returns for r, ≥ 0, in bytes): it is
// counted in EncodedBytes instead of being computed again.
func (s *Store) AddSized(r Record, encoded int64) error {
	return s.add(r, max(0, encoded))
}

// add is Add; encoded < 0 means: compute the size, if there is a sizer.
func (s *Store) add(r Record, encoded int64) error {
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
	md := meta{root: r.ID}
	if len(r.Parents) > 0 {
		md.root = s.meta[r.Parents[0]].root
	}
	switch {
	case encoded >= 0:
		md.encoded = encoded
	case s.size != nil:
		md.encoded = s.size(c)
	}
	s.encoded += md.encoded
	s.meta[r.ID] = md
	s.ids = insertSorted(s.ids, r.ID)
	s.byGen[r.Generation] = insertSorted(s.byGen[r.Generation], r.ID)
	for _, p := range r.Parents {
		s.children[p] = insertSorted(s.children[p], r.ID)
		delete(s.leaves, p)
	}
	if !pinned(&c) {
		s.leaves[r.ID] = struct{}{}
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
		indexSize = 8*word + 3*word + 5*word // map slot and pointer; ids, byGen, children entries; meta slot
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

// EncodedBytes returns the total size of the stored records as measured
// by the WithEncodedSize option, in bytes; 0 without it. It is kept as
// records are added and pruned, so it costs nothing to read.
func (s *Store) EncodedBytes() int64 { return s.encoded }

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

// VisitGeneration calls visit with each stored record of generation g in
// ascending ID order, without copying them: the records are the Store's
// own, so visit must neither modify nor keep them (nor their slices), and
// must not call the Store's methods that change it.
func (s *Store) VisitGeneration(g uint32, visit func(r *Record)) {
	for _, id := range s.byGen[g] {
		visit(s.byID[id])
	}
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
	// Removed holds the records removed, in removal order: what a caller
	// restoring the store as it was before this Prune (a rollback) adds
	// back.
	Removed []Record
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
// Cost: O(len(keep) + removed records), independent of how many records
// are retained: it starts from the records without stored children (kept
// up to date by Add and Prune) that are neither in keep nor flagged nor
// champions, and removes them and then each parent left without children
// and unprotected, which removes exactly the records that are not kept,
// not flagged, not champions and not an ancestor of one.
//
// It fails, removing nothing, if an id in keep is not stored (ErrNotFound).
func (s *Store) Prune(keep []uint64) (Pruned, error) {
	kept := make(map[uint64]struct{}, len(keep))
	for _, id := range keep {
		if _, ok := s.byID[id]; !ok {
			return Pruned{}, fmt.Errorf("%w: individual %d", ErrNotFound, id)
		}
		kept[id] = struct{}{}
	}
	var stack []uint64
	for id := range s.leaves {
		if _, k := kept[id]; !k {
			stack = append(stack, id)
		}
	}
	slices.Sort(stack) // the map's order is discarded: the work is done in a fixed order
	var out Pruned
	first := uint64(math.MaxUint64) // lowest id removed
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		r := s.byID[id]
		out.Records++
		out.Generations = append(out.Generations, r.Generation)
		out.Removed = append(out.Removed, *r)
		first = min(first, id)
		s.bytes -= recordBytes(r)
		s.encoded -= s.meta[id].encoded
		for _, p := range r.Parents {
			ch := s.children[p]
			if i, ok := slices.BinarySearch(ch, id); ok {
				ch = slices.Delete(ch, i, i+1)
			}
			if len(ch) > 0 {
				s.children[p] = ch
				continue
			}
			delete(s.children, p)
			if pinned(s.byID[p]) {
				continue
			}
			if _, k := kept[p]; k {
				s.leaves[p] = struct{}{}
			} else {
				stack = append(stack, p)
			}
		}
		delete(s.leaves, id)
		delete(s.meta, id)
		delete(s.byID, id)
	}
	if out.Records == 0 {
		return out, nil
	}
	slices.Sort(out.Generations)
	out.Generations = slices.Compact(out.Generations)
	dead := func(id uint64) bool { _, ok := s.byID[id]; return !ok }
	// Only ids from the lowest removed one on can have gone.
	lo, _ := slices.BinarySearch(s.ids, first)
	s.ids = s.ids[:lo+len(slices.DeleteFunc(s.ids[lo:], dead))]
	for _, g := range out.Generations {
		if ids := slices.DeleteFunc(s.byGen[g], dead); len(ids) == 0 {
			delete(s.byGen, g)
		} else {
			s.byGen[g] = ids
		}
	}
	return out, nil
}
