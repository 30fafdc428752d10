// Package ga provides the base optimizer: a generational genetic algorithm
// that turns a population and the run's seed-derived random streams into
// the next population and the births that record its lineage. It is pure
// (no I/O, no clock, no goroutines); the coordinator evaluates what it
// breeds and commits the result.
package ga

import (
	"cmp"
	"slices"

	"github.com/mesaopt/mesaopt/experiment"
	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/internal/stream"
)

// Member is one individual of a population: its id, genome and train
// fitness (meaningful once evaluated).
type Member struct {
	ID      uint64
	Genome  genome.Genome
	Fitness float64
}

// Birth records how a member came to be: its parents (Parents[0] is the
// primary parent, whose genome was copied and varied) and the operators
// applied, in order.
type Birth struct {
	ID        uint64
	Parents   []uint64
	Operators []string
}

// Optimizer is the base optimizer: a generational genetic algorithm with
// tournament selection, elitism and a fixed population size. It is pure:
// it does no I/O and draws every random number from streams derived from
// the spec's seed and a stable key (generation, child index), so equal
// inputs give equal outputs on every machine.
type Optimizer struct {
	spec   experiment.Spec
	shape  genome.Shape
	frozen []int // genome.Variation.Frozen
}

// New returns the base optimizer for spec over genomes of shape, holding
// no weight at 0 (a spec with freeze_untrained needs NewFrozen).
func New(spec experiment.Spec, shape genome.Shape) *Optimizer {
	return &Optimizer{spec: spec, shape: shape}
}

// NewFrozen is New holding every planner's weights at frozen (indices into
// shape.Features, ascending and distinct: spec.FrozenFeatures()) at 0 in
// every genome it breeds — generation 0, mutants, crossovers, kind
// switches and elites. With no index it breeds exactly what New's does.
// Errors name a bad index (genome.Variation.ValidateFor).
func NewFrozen(spec experiment.Spec, shape genome.Shape, frozen []int) (*Optimizer, error) {
	v := spec.Variation()
	v.Frozen = frozen
	if err := v.ValidateFor(shape); err != nil {
		return nil, err
	}
	return &Optimizer{spec: spec, shape: shape, frozen: slices.Clone(frozen)}, nil
}

// Frozen returns the features whose planner weights ga holds at 0.
func (ga *Optimizer) Frozen() []int { return slices.Clone(ga.frozen) }

// variation returns the operator settings: the spec's, with ga's mask.
func (ga *Optimizer) variation() genome.Variation {
	v := ga.spec.Variation()
	v.Frozen = ga.frozen
	return v
}

// Initial returns generation 0 with ids 0..Population-1, each a planner
// with probability InitialPlannerShare, and the next free id.
func (ga *Optimizer) Initial() ([]Member, []Birth, uint64) {
	n := ga.spec.Population
	pop := make([]Member, n)
	births := make([]Birth, n)
	v := ga.variation()
	for i := range n {
		r := stream.New(ga.spec.Seed, stream.PurposeInitialPopulation, uint64(i))
		kind := genome.KindHeuristic
		if r.Float64() < ga.spec.InitialPlannerShare {
			kind = genome.KindPlanner
		}
		pop[i] = Member{ID: uint64(i), Genome: genome.Random(ga.shape, kind, v, r)}
		births[i] = Birth{ID: uint64(i)}
	}
	return pop, births, uint64(n)
}

// Next returns generation gen (≥ 1) bred from the evaluated population of
// generation gen−1, the births of its members and the next free id. New
// ids are nextID, nextID+1, … in population order. pop is not modified.
//
// Elites (the best Elites members by fitness, ties by lower id) are copied
// with a new id and the operator "elite"; every other child has a primary
// parent chosen by tournament and, with probability CrossoverRate and when
// a second tournament picks a different parent of the same kind, a second
// parent for uniform crossover; then it is mutated.
func (ga *Optimizer) Next(pop []Member, gen uint32, nextID uint64) ([]Member, []Birth, uint64) {
	ranked := slices.Clone(pop)
	slices.SortStableFunc(ranked, func(a, b Member) int {
		if c := cmp.Compare(b.Fitness, a.Fitness); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	// Tournament draws index into pop sorted by id, so the result does not
	// depend on the order the caller passed.
	byID := slices.Clone(pop)
	slices.SortFunc(byID, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })

	n := ga.spec.Population
	next := make([]Member, 0, n)
	births := make([]Birth, 0, n)
	v := ga.variation()
	for i := 0; i < ga.spec.Elites && i < len(ranked); i++ {
		e := ranked[i]
		// Hold is a no-op on a genome this optimizer bred; it matters for a
		// population bred without the mask (a fork that turns it on).
		next = append(next, Member{ID: nextID, Genome: v.Hold(e.Genome.Clone())})
		births = append(births, Birth{ID: nextID, Parents: []uint64{e.ID}, Operators: []string{genome.OpElite}})
		nextID++
	}
	for len(next) < n {
		child := uint64(len(next))
		sel := stream.New(ga.spec.Seed, stream.PurposeSelection, uint64(gen), child)
		p1 := ga.tournament(byID, sel)
		parents := []uint64{p1.ID}
		g := p1.Genome
		var ops []string
		if sel.Float64() < ga.spec.CrossoverRate {
			p2 := ga.tournament(byID, sel)
			if p2.ID != p1.ID && p2.Genome.Kind == p1.Genome.Kind {
				if c, ok := genome.Crossover(p1.Genome, p2.Genome, sel); ok {
					g = c
					parents = append(parents, p2.ID)
					ops = append(ops, genome.OpCrossover)
				}
			}
		}
		mut := stream.New(ga.spec.Seed, stream.PurposeVariation, uint64(gen), child)
		g, mops := genome.Mutate(g, ga.shape, v, mut)
		ops = append(ops, mops...)
		next = append(next, Member{ID: nextID, Genome: g})
		births = append(births, Birth{ID: nextID, Parents: parents, Operators: ops})
		nextID++
	}
	return next, births, nextID
}

// tournament draws TournamentSize members uniformly with replacement and
// returns the fittest (ties: lower id).
func (ga *Optimizer) tournament(byID []Member, r interface{ IntN(int) int }) Member {
	best := byID[r.IntN(len(byID))]
	for k := 1; k < ga.spec.TournamentSize; k++ {
		c := byID[r.IntN(len(byID))]
		if c.Fitness > best.Fitness || (c.Fitness == best.Fitness && c.ID < best.ID) {
			best = c
		}
	}
	return best
}
