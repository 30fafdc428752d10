package fitness

// valueMemo caches, for one objective on one instance, the part of J(s)
// that depends on the state's position and touched objects only: the sum
// of weight × feature over every feature before "steps". The planner's
// search meets the same (position, touched) pairs over and over; with the
// memo a node costs a lookup and one multiply-add instead of a feature
// vector. J is summed in feature order (see Value), so the memo is exact —
// bit for bit — only when "steps" is the last feature or absent, which
// every environment's basis satisfies (the catalogue lists it last);
// otherwise the search computes features as before.
//
// The table is open-addressed with linear probing, keyed by stateKey (the
// search's transposition key), and emptied in O(1) by advancing its epoch.
type valueMemo struct {
	slots []memoSlot
	n     int    // entries of the current epoch
	epoch uint32 // slots of another epoch are empty
	in    *Instance
	obj   []float64
	d     int // features summed into the memo: all but a trailing "steps"
	nf    int // features of the basis
	steps bool
	// stepTerm[k] is the steps term of J at k steps: weight × k/StepLimit,
	// as Value computes it.
	stepTerm []float64
}

type memoSlot struct {
	key   uint64
	v     float64
	epoch uint32
}

// reset empties the memo for objective on in; false when the memo cannot
// be exact for in's feature basis.
func (m *valueMemo) reset(in *Instance, objective []float64) bool {
	d := len(in.env.features)
	sf := in.env.stepsFeature
	if sf >= 0 && sf != d-1 {
		return false
	}
	m.in, m.obj, m.d, m.nf, m.steps = in, objective[:d], d, d, sf >= 0
	if m.steps {
		m.d = d - 1
		m.stepTerm = m.stepTerm[:0]
		for k := 0; k <= in.cfg.StepLimit; k++ {
			m.stepTerm = append(m.stepTerm, m.obj[m.d]*(float64(k)/in.stepNorm))
		}
	}
	if m.slots == nil {
		m.slots = make([]memoSlot, 1024)
	}
	m.epoch++
	if m.epoch == 0 { // wrapped: stale slots could look current
		clear(m.slots)
		m.epoch = 1
	}
	m.n = 0
	return true
}

// value returns J(s) under the memo's objective, equal bit for bit to
// in.Value(objective, s), and records s in sp: a miss computes s's feature
// vector, a hit repeats a position and touched set already observed, whose
// features differ at most in "steps".
func (m *valueMemo) value(s State, sp *spread) float64 {
	key := stateKey(s)
	mask := uint64(len(m.slots) - 1)
	i := slotOf(key, mask)
	for {
		sl := &m.slots[i]
		if sl.epoch != m.epoch {
			break
		}
		if sl.key == key {
			sp.revisit(s.Steps)
			return m.finish(sl.v, s)
		}
		i = (i + 1) & mask
	}
	var f [MaxFeatures]float64
	m.in.features(&f, s)
	sp.observe(&f, m.nf, s.Steps)
	v := 0.0
	for k, x := range m.obj[:m.d] {
		v += x * f[k]
	}
	m.slots[i] = memoSlot{key: key, v: v, epoch: m.epoch}
	m.n++
	if 2*m.n > len(m.slots) {
		m.grow()
	}
	return m.finish(v, s)
}

// finish adds the steps term to a memoised prefix, as Value's last term.
func (m *valueMemo) finish(prefix float64, s State) float64 {
	if !m.steps {
		return prefix
	}
	if k := int(s.Steps); k >= 0 && k < len(m.stepTerm) {
		return prefix + m.stepTerm[k]
	}
	return prefix + m.obj[m.d]*(float64(s.Steps)/m.in.stepNorm)
}

// grow doubles the table, keeping the current epoch's entries.
func (m *valueMemo) grow() {
	old := m.slots
	m.slots = make([]memoSlot, 2*len(old))
	mask := uint64(len(m.slots) - 1)
	for _, sl := range old {
		if sl.epoch != m.epoch {
			continue
		}
		i := slotOf(sl.key, mask)
		for m.slots[i].epoch == m.epoch {
			i = (i + 1) & mask
		}
		m.slots[i] = sl
	}
}
