package experiment

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decodeStrict decodes exactly one YAML document into s, refusing unknown
// fields. Errors wrap ErrInvalid and name the field and its line. Fields the
// document leaves out keep the values s already has.
func decodeStrict(data []byte, s *Spec) (fieldLines, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: the file holds no fields, allowed a YAML mapping of experiment fields (see experiments/doors.yaml)", ErrInvalid)
	}
	if err := checkScalars(root.Content[0], reflect.TypeOf(*s), ""); err != nil {
		return nil, err
	}
	lines := fieldLines{}
	lines.collect("", root.Content[0])
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(s); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, lines.explain(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: more than one YAML document, allowed one experiment per file", ErrInvalid)
	}
	return lines, nil
}

// fieldLines maps field paths ("environment.width", "shifted_conditions[0]")
// to the line of their value. Only looked up, never ranged.
type fieldLines map[string]int

func (f fieldLines) collect(prefix string, n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			path := key.Value
			if prefix != "" {
				path = prefix + "." + key.Value
			}
			f[path] = key.Line
			f.collect(path, val)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			path := fmt.Sprintf("%s[%d]", prefix, i)
			f[path] = c.Line
			f.collect(path, c)
		}
	}
}

// byLine returns the path whose key or item sits on line.
func (f fieldLines) byLine(line int) string {
	best := ""
	for path, l := range f {
		// Prefer the deepest path on the line; ties by name keep it deterministic.
		if l == line && (len(path) > len(best) || (len(path) == len(best) && path < best)) {
			best = path
		}
	}
	return best
}

var lineRE = regexp.MustCompile(`line (\d+): `)

// explain rewrites a decoder error for people: each "line N: ..." gets the
// field on that line, and Go type names are replaced by plain words.
func (f fieldLines) explain(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n  ")
	msg = strings.ReplaceAll(msg, "\n  ", "; ")
	msg = strings.ReplaceAll(msg, " in type experiment.Spec", "")
	msg = strings.ReplaceAll(msg, " in type experiment.Environment", " in environment")
	msg = strings.ReplaceAll(msg, " in type experiment.Thresholds", " in thresholds")
	return lineRE.ReplaceAllStringFunc(msg, func(m string) string {
		n, _ := strconv.Atoi(lineRE.FindStringSubmatch(m)[1])
		if p := f.byLine(n); p != "" {
			return fmt.Sprintf("line %d: %s: ", n, p)
		}
		return m
	})
}

// locate appends the line of the field a validation error names.
func (f fieldLines) locate(err error) error {
	msg := err.Error()
	i := strings.Index(msg, " = ")
	if i < 0 {
		return err
	}
	fields := strings.Fields(msg[:i])
	if len(fields) == 0 {
		return err
	}
	path := fields[len(fields)-1]
	line, ok := f[path]
	if !ok {
		// A nested section's validator names the field without its section.
		best := ""
		for p := range f {
			if strings.HasSuffix(p, "."+path) && (best == "" || len(p) < len(best) || (len(p) == len(best) && p < best)) {
				best = p
			}
		}
		line, ok = f[best]
	}
	if !ok || strings.Contains(msg, fmt.Sprintf("line %d:", line)) {
		return err
	}
	return fmt.Errorf("%w: line %d: %s", ErrInvalid, line, strings.TrimPrefix(msg, ErrInvalid.Error()+": "))
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// validName reports whether an experiment name can prefix run ids: etcd
// keys, command lines and file names take it unquoted.
func validName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: name = %q, allowed 1..63 letters, digits, '.', '_' or '-', starting with a letter or digit", ErrInvalid, name)
	}
	return nil
}
