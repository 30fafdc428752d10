package experiment

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// SafeOnResume lists the experiment fields a resume may change: they cannot
// change what a generation computes, only how long the run goes on or how
// work and checkpoints are handled.
var SafeOnResume = []string{"generations", "evaluation_timeout", "batch_size", "checkpoint_retention"}

// ErrOverride marks an override that is not allowed where it was given.
var ErrOverride = errors.New("override refused")

// ApplyOverrides returns spec with overrides "path=value" applied, where
// path is a YAML field path ("generations", "environment.red_objects") and
// value YAML ("40", "[shifted]"). It returns the paths changed, in order.
// Unknown fields and invalid values are errors wrapping ErrInvalid that name
// the override; the result is validated.
func ApplyOverrides(spec Spec, sets []string) (Spec, []string, error) {
	base, err := yaml.Marshal(spec)
	if err != nil {
		return Spec{}, nil, err
	}
	var out Spec
	if err := yaml.Unmarshal(base, &out); err != nil {
		return Spec{}, nil, err
	}
	var paths []string
	for i, set := range sets {
		path, value, ok := strings.Cut(set, "=")
		path = strings.TrimSpace(path)
		if !ok || path == "" {
			return Spec{}, nil, fmt.Errorf("%w: set[%d] = %q, allowed field=value (e.g. generations=40)", ErrInvalid, i, set)
		}
		parts := strings.Split(path, ".")
		var doc strings.Builder
		for d, p := range parts {
			doc.WriteString(strings.Repeat("  ", d) + p + ":")
			if d < len(parts)-1 {
				doc.WriteString("\n")
			}
		}
		doc.WriteString(" " + value + "\n")
		var node yaml.Node
		if err := yaml.Unmarshal([]byte(doc.String()), &node); err != nil || len(node.Content) == 0 {
			return Spec{}, nil, fmt.Errorf("%w: set %q: the value is not YAML (%v)", ErrInvalid, set, err)
		}
		if err := checkScalars(node.Content[0], reflect.TypeOf(out), ""); err != nil {
			// The document is the override alone: its line numbers mean nothing.
			return Spec{}, nil, fmt.Errorf("%w: set %q: %s", ErrInvalid, set, lineRE.ReplaceAllString(strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "), ""))
		}
		dec := yaml.NewDecoder(bytes.NewReader([]byte(doc.String())))
		dec.KnownFields(true)
		if err := dec.Decode(&out); err != nil {
			return Spec{}, nil, fmt.Errorf("%w: set %q: %v", ErrInvalid, set, strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  "))
		}
		paths = append(paths, path)
	}
	if err := out.Validate(); err != nil {
		return Spec{}, nil, err
	}
	return out, paths, nil
}

// CheckResumeOverrides refuses paths that are not safe on resume.
func CheckResumeOverrides(paths []string) error {
	for _, p := range paths {
		if p == "seed" {
			return fmt.Errorf("%w: seed cannot change on resume or in a fork (the run's history was drawn from it); start a new run with the other seed", ErrOverride)
		}
		if !slices.Contains(SafeOnResume, p) {
			return fmt.Errorf("%w: %s cannot change on resume (it would change what the committed generations mean; allowed %v); fork the run instead: mesactl run fork RUN --generation G --set %s=VALUE",
				ErrOverride, p, SafeOnResume, p)
		}
	}
	return nil
}
