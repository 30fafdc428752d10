package experiment_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mesaopt/mesaopt/experiment"
)

// TestFreezeUntrainedRoundTrip: the field goes through YAML and the proto
// both ways, and is false when left out (and in older specs on the wire).
func TestFreezeUntrainedRoundTrip(t *testing.T) {
	for _, want := range []bool{false, true} {
		doc := "seed: 3\n"
		if want {
			doc += "freeze_untrained: true\n"
		}
		s, err := experiment.Parse(strings.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		if s.FreezeUntrained != want {
			t.Fatalf("parsed freeze_untrained = %v, want %v", s.FreezeUntrained, want)
		}
		p := s.ToProto()
		if p.GetFreezeUntrained() != want {
			t.Fatalf("proto freeze_untrained = %v, want %v", p.GetFreezeUntrained(), want)
		}
		back, err := experiment.FromProto(p)
		if err != nil {
			t.Fatal(err)
		}
		if back.FreezeUntrained != want || !proto.Equal(back.ToProto(), p) {
			t.Fatalf("freeze_untrained = %v: spec changed through proto", want)
		}
		over, _, err := experiment.ApplyOverrides(s, []string{"freeze_untrained=" + map[bool]string{false: "true", true: "false"}[want]})
		if err != nil {
			t.Fatal(err)
		}
		if over.FreezeUntrained == want {
			t.Fatalf("override of freeze_untrained = %v had no effect", want)
		}
	}
}

func TestFreezeUntrainedBadValue(t *testing.T) {
	for _, doc := range []string{"freeze_untrained: maybe\n", "freeze_untrained: 1\n", "freeze_untrained: [true]\n"} {
		_, err := experiment.Parse(strings.NewReader("seed: 1\n" + doc))
		if !errors.Is(err, experiment.ErrInvalid) || !strings.Contains(err.Error(), "freeze_untrained") || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%q: %v, want ErrInvalid naming freeze_untrained at line 2", doc, err)
		}
	}
	if err := experiment.CheckResumeOverrides([]string{"freeze_untrained"}); !errors.Is(err, experiment.ErrOverride) {
		t.Errorf("freeze_untrained on resume: %v, want ErrOverride", err)
	}
}

// TestFrozenFeatures: none without the control; with it, the blue
// features of the door maze under either family, the same on every call;
// after a regime change to blue doors, none (selection sees blue then).
func TestFrozenFeatures(t *testing.T) {
	s := experiment.Default()
	if f, err := s.FrozenFeatures(); err != nil || f != nil {
		t.Fatalf("without freeze_untrained: %v, %v", f, err)
	}
	s.FreezeUntrained = true
	names := s.Shape().Features
	blue := []int{slices.Index(names, "blue_touched"), slices.Index(names, "dist_blue")}
	for _, family := range []string{"oracle", "local"} {
		s.Environment.Features = family
		a, err := s.FrozenFeatures()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := s.FrozenFeatures()
		if !slices.Equal(a, blue) || !slices.Equal(a, b) {
			t.Errorf("%s: frozen %v then %v, want %v", family, a, b, blue)
		}
	}
	s.ShiftedConditions = []string{"blue-doors"}
	s.RegimeChange = &experiment.RegimeChange{Generation: 10, TrainCondition: "blue-doors"}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if f, err := s.FrozenFeatures(); err != nil || len(f) != 0 {
		t.Errorf("regime change to blue-doors: frozen %v, %v; want none", f, err)
	}
}
