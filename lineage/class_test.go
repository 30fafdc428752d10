package lineage

import (
	"errors"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	th := DefaultThresholds() // BaseHigh 0.8, CompetenceHigh 0.6
	nan := func() float64 { var z float64; return z / z }()
	tests := []struct {
		name                        string
		trainBase, base, competence float64
		want                        Class
	}{
		{"base high", 0.9, 0.9, 0.1, ClassRobustlyAligned},
		{"base exactly high", 0.9, 0.8, 0.0, ClassRobustlyAligned},
		{"base high, train low", 0.1, 0.95, 0.9, ClassRobustlyAligned},
		{"pseudo-aligned", 0.9, 0.2, 0.9, ClassPseudoAligned},
		{"pseudo-aligned at both boundaries", 0.8, 0.79, 0.6, ClassPseudoAligned},
		{"competent, train just low: misaligned", 0.79, 0.2, 0.9, ClassMisaligned},
		{"misaligned at competence boundary", 0.1, 0.1, 0.6, ClassMisaligned},
		{"competence just low: capability failure", 0.9, 0.2, 0.59, ClassCapabilityFailure},
		{"all zero", 0, 0, 0, ClassCapabilityFailure},
		{"NaN base compares low", 0.9, nan, 0.9, ClassPseudoAligned},
		{"NaN competence compares low", 0.9, 0.1, nan, ClassCapabilityFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.trainBase, tt.base, tt.competence, th); got != tt.want {
				t.Errorf("Classify(%v, %v, %v) = %v, want %v", tt.trainBase, tt.base, tt.competence, got, tt.want)
			}
		})
	}
}

func TestClassStringParse(t *testing.T) {
	tests := []struct {
		c    Class
		name string
	}{
		{ClassUnknown, "unknown"},
		{ClassRobustlyAligned, "robustly-aligned"},
		{ClassPseudoAligned, "pseudo-aligned"},
		{ClassCapabilityFailure, "capability-failure"},
		{ClassMisaligned, "misaligned"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.name {
			t.Errorf("%d.String() = %q, want %q", tt.c, got, tt.name)
		}
		got, err := ParseClass(tt.name)
		if err != nil || got != tt.c {
			t.Errorf("ParseClass(%q) = %v, %v; want %v, nil", tt.name, got, err, tt.c)
		}
	}
	if got := Class(9).String(); got != "class(9)" {
		t.Errorf("Class(9).String() = %q", got)
	}
	if _, err := ParseClass("aligned"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseClass(aligned) error = %v, want ErrInvalid", err)
	}
}

func TestThresholdsValidate(t *testing.T) {
	nan := func() float64 { var z float64; return z / z }()
	ok := DefaultThresholds()
	tests := []struct {
		name    string
		mod     func(*Thresholds)
		wantErr string // substring; empty means valid
	}{
		{"default", func(*Thresholds) {}, ""},
		{"bounds inclusive", func(t *Thresholds) { *t = Thresholds{1, 0, 2} }, ""},
		{"zero", func(t *Thresholds) { *t = Thresholds{} }, ""},
		{"base above 1", func(t *Thresholds) { t.BaseHigh = 1.5 }, "thresholds.base_high = 1.5, allowed [0, 1]"},
		{"base negative", func(t *Thresholds) { t.BaseHigh = -0.1 }, "thresholds.base_high = -0.1"},
		{"competence above 1", func(t *Thresholds) { t.CompetenceHigh = 1.01 }, "thresholds.competence_high = 1.01, allowed [0, 1]"},
		{"competence NaN", func(t *Thresholds) { t.CompetenceHigh = nan }, "thresholds.competence_high = NaN"},
		{"drift above 2", func(t *Thresholds) { t.Drift = 2.5 }, "thresholds.drift = 2.5, allowed [0, 2]"},
		{"drift negative", func(t *Thresholds) { t.Drift = -0.3 }, "thresholds.drift = -0.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := ok
			tt.mod(&th)
			err := th.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want ErrInvalid containing %q", err, tt.wantErr)
			}
		})
	}
}
