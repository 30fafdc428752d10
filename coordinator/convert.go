package coordinator

import (
	"slices"

	"github.com/mesaopt/mesaopt/genome"
	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// ClassToProto maps an alignment class to its wire enum.
func ClassToProto(c lineage.Class) pb.AlignmentClass {
	switch c {
	case lineage.ClassRobustlyAligned:
		return pb.AlignmentClass_ALIGNMENT_CLASS_ROBUSTLY_ALIGNED
	case lineage.ClassPseudoAligned:
		return pb.AlignmentClass_ALIGNMENT_CLASS_PSEUDO_ALIGNED
	case lineage.ClassCapabilityFailure:
		return pb.AlignmentClass_ALIGNMENT_CLASS_CAPABILITY_FAILURE
	case lineage.ClassMisaligned:
		return pb.AlignmentClass_ALIGNMENT_CLASS_MISALIGNED
	}
	return pb.AlignmentClass_ALIGNMENT_CLASS_UNSPECIFIED
}

// ClassFromProto maps a wire enum to an alignment class.
func ClassFromProto(c pb.AlignmentClass) lineage.Class {
	switch c {
	case pb.AlignmentClass_ALIGNMENT_CLASS_ROBUSTLY_ALIGNED:
		return lineage.ClassRobustlyAligned
	case pb.AlignmentClass_ALIGNMENT_CLASS_PSEUDO_ALIGNED:
		return lineage.ClassPseudoAligned
	case pb.AlignmentClass_ALIGNMENT_CLASS_CAPABILITY_FAILURE:
		return lineage.ClassCapabilityFailure
	case pb.AlignmentClass_ALIGNMENT_CLASS_MISALIGNED:
		return lineage.ClassMisaligned
	}
	return lineage.ClassUnknown
}

func scoreToProto(s lineage.ConditionScore) *pb.ConditionScore {
	p := &pb.ConditionScore{
		Condition: s.Condition, Base: s.Base, Competence: s.Competence, Agreement: s.Agreement,
		Drift: s.Drift, ProxyHits: s.ProxyHits, Class: ClassToProto(s.Class),
		BehavioralObjective: s.BehavioralObjective, Nodes: s.Nodes, Flagged: s.Flagged,
		BehavioralWeights: slices.Clone(s.BehavioralWeights), BehavioralFit: s.BehavioralFit,
		BehavioralAccuracy: s.BehavioralAccuracy, Firm: s.Firm, BehavioralMargin: s.BehavioralMargin,
		Varied: slices.Clone(s.Varied), Features: slices.Clone(s.Features),
	}
	if s.ClassCounts.Total() > 0 {
		p.ClassCounts = make([]uint32, lineage.NumClasses)
		for k, n := range s.ClassCounts {
			p.ClassCounts[k] = uint32(n)
		}
	}
	if n := len(s.Episodes); n > 0 {
		// One allocation for all the episodes' messages: a condition has
		// tens of them, and a generation's lineage batch thousands.
		eps := make([]pb.EpisodeScore, n)
		p.Episodes = make([]*pb.EpisodeScore, n)
		for i, e := range s.Episodes {
			setEpisode(&eps[i], e)
			p.Episodes[i] = &eps[i]
		}
	}
	return p
}

// EpisodeToProto encodes one analysis episode's scores.
func EpisodeToProto(e lineage.EpisodeScore) *pb.EpisodeScore {
	p := &pb.EpisodeScore{}
	setEpisode(p, e)
	return p
}

// setEpisode sets p, a new message, to e's scores.
func setEpisode(p *pb.EpisodeScore, e lineage.EpisodeScore) {
	p.Base, p.Competence, p.GoalBase, p.Agreement = e.Base, e.Competence, e.GoalBase, e.Agreement
	p.ProxyHits, p.BehavioralCompetence, p.BehavioralGoalBase = e.ProxyHits, e.BehavioralCompetence, e.BehavioralGoalBase
	p.Class = ClassToProto(e.Class)
}

// EpisodeFromProto decodes one analysis episode's scores.
func EpisodeFromProto(p *pb.EpisodeScore) lineage.EpisodeScore {
	return lineage.EpisodeScore{Base: p.GetBase(), Competence: p.GetCompetence(), GoalBase: p.GetGoalBase(),
		Agreement: p.GetAgreement(), ProxyHits: p.GetProxyHits(), BehavioralCompetence: p.GetBehavioralCompetence(),
		BehavioralGoalBase: p.GetBehavioralGoalBase(), Class: ClassFromProto(p.GetClass())}
}

func scoreFromProto(p *pb.ConditionScore) lineage.ConditionScore {
	s := lineage.ConditionScore{
		Condition: p.GetCondition(), Base: p.GetBase(), Competence: p.GetCompetence(), Agreement: p.GetAgreement(),
		Drift: p.GetDrift(), ProxyHits: p.GetProxyHits(), Class: ClassFromProto(p.GetClass()),
		BehavioralObjective: p.GetBehavioralObjective(), Nodes: p.GetNodes(), Flagged: p.GetFlagged(),
		BehavioralWeights: slices.Clone(p.GetBehavioralWeights()), BehavioralFit: p.GetBehavioralFit(),
		BehavioralAccuracy: p.GetBehavioralAccuracy(), Firm: p.GetFirm(), BehavioralMargin: p.GetBehavioralMargin(),
		Varied: slices.Clone(p.GetVaried()), Features: slices.Clone(p.GetFeatures()),
	}
	for k, n := range p.GetClassCounts() {
		if k < lineage.NumClasses {
			s.ClassCounts[k] = int(n)
		}
	}
	for _, e := range p.GetEpisodes() {
		s.Episodes = append(s.Episodes, EpisodeFromProto(e))
	}
	return s
}

// RecordToProto encodes a lineage record; g, when not nil, is attached as
// the individual's genome.
func RecordToProto(r lineage.Record, g *genome.Genome) *pb.Individual {
	p := &pb.Individual{
		Id: r.ID, Generation: r.Generation, Parents: slices.Clone(r.Parents), Operators: slices.Clone(r.Operators),
		Kind: genome.KindToProto(r.Kind), Objective: slices.Clone(r.Objective), Horizon: uint32(r.Horizon),
		Fitness: r.Fitness, Train: scoreToProto(r.Train), Flagged: r.Flagged, FlagReasons: slices.Clone(r.FlagReasons),
		Champion: r.Champion, Failure: r.Failure,
	}
	for _, s := range r.Shifted {
		p.Shifted = append(p.Shifted, scoreToProto(s))
	}
	if r.Identity.Condition != "" {
		p.Identity = scoreToProto(r.Identity)
	}
	if g != nil {
		p.Genome = genome.ToProto(*g)
	}
	return p
}

// RecordFromProto decodes a lineage record.
func RecordFromProto(p *pb.Individual) lineage.Record {
	r := lineage.Record{
		ID: p.GetId(), Generation: p.GetGeneration(), Parents: slices.Clone(p.GetParents()),
		Operators: slices.Clone(p.GetOperators()), Kind: genome.KindFromProto(p.GetKind()),
		Objective: slices.Clone(p.GetObjective()), Horizon: int(p.GetHorizon()), Fitness: p.GetFitness(),
		Train: scoreFromProto(p.GetTrain()), Flagged: p.GetFlagged(), FlagReasons: slices.Clone(p.GetFlagReasons()),
		Champion: p.GetChampion(), Failure: p.GetFailure(),
	}
	for _, s := range p.GetShifted() {
		r.Shifted = append(r.Shifted, scoreFromProto(s))
	}
	if p.Identity != nil {
		r.Identity = scoreFromProto(p.GetIdentity())
	}
	return r
}
