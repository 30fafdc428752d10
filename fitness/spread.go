package fitness

// spread records, over one episode, which features took more than one
// value among the states the planner's search evaluated: a feature whose
// value was the same in every evaluated state contributed the same term
// to J = w·f of every plan the search compared, so its weight never
// changed a decision. Observing a state costs one comparison per feature
// and allocates nothing.
type spread struct {
	first      [MaxFeatures]float64 // the first evaluated state's features
	firstSteps int32                // and its step count
	seen       bool                 // first is set
	varied     uint32               // bit k: feature k took two values
	stepsBit   uint32               // the steps feature's bit; 0 without one
}

// reset starts an episode in in's environment.
func (sp *spread) reset(in *Instance) {
	sp.seen, sp.varied, sp.stepsBit = false, 0, 0
	if k := in.env.stepsFeature; k >= 0 {
		sp.stepsBit = 1 << k
	}
}

// observe records the feature vector f (its first d entries) of a state
// at steps.
func (sp *spread) observe(f *[MaxFeatures]float64, d int, steps int32) {
	if !sp.seen {
		sp.first, sp.firstSteps, sp.seen = *f, steps, true
		return
	}
	for k, x := range f[:d] {
		if x != sp.first[k] {
			sp.varied |= 1 << k
		}
	}
}

// revisit records a state whose position and touched objects were
// observed before: only its step count can differ.
func (sp *spread) revisit(steps int32) {
	if steps != sp.firstSteps {
		sp.varied |= sp.stepsBit
	}
}
