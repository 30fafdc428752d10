package experiment

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// checkScalars walks a YAML mapping against the struct type t before it is
// decoded, and refuses what the decoder would take silently or explain in
// Go's words: a number that is not an exact integer (1.5, 1e3) or out of
// the Go type's range (2^64 for a uint64) for an integer field, a
// non-number for a number field, a non-string for a string field, and an
// unknown field (listing the known ones). Errors name the line, the field,
// the value and what is allowed; they wrap ErrInvalid.
func checkScalars(n *yaml.Node, t reflect.Type, prefix string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeOf(Duration(0)):
		return checkDuration(n, prefix)
	case reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()):
		return nil // the type checks its own YAML (Mixture, seed lists)
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if n.Tag == "!!null" {
				return nil
			}
			return fmt.Errorf("%w: line %d: %s = %q, allowed a mapping of its fields (%s)", ErrInvalid, n.Line, prefix, n.Value, strings.Join(yamlFields(t), ", "))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			path := key.Value
			if prefix != "" {
				path = prefix + "." + key.Value
			}
			f, ok := fieldByTag(t, key.Value)
			if !ok {
				where := "an experiment"
				if prefix != "" {
					where = prefix
				}
				return fmt.Errorf("%w: line %d: unknown field %s, allowed in %s: %s", ErrInvalid, key.Line, path, where, strings.Join(yamlFields(t), ", "))
			}
			if err := checkScalars(val, f.Type, path); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			if n.Tag == "!!null" {
				return nil
			}
			return fmt.Errorf("%w: line %d: %s = %q, allowed a list", ErrInvalid, n.Line, prefix, n.Value)
		}
		for i, c := range n.Content {
			if err := checkScalars(c, t.Elem(), fmt.Sprintf("%s[%d]", prefix, i)); err != nil {
				return err
			}
		}
	default:
		return checkScalar(n, t, prefix)
	}
	return nil
}

// checkScalar checks one scalar value against a Go scalar type.
func checkScalar(n *yaml.Node, t reflect.Type, path string) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("%w: line %d: %s is a %s, allowed %s", ErrInvalid, n.Line, path, nodeKind(n), allowed(t))
	}
	bad := func() error {
		return fmt.Errorf("%w: line %d: %s = %s, allowed %s", ErrInvalid, n.Line, path, quoted(n), allowed(t))
	}
	switch t.Kind() {
	case reflect.String:
		if n.Tag != "!!str" {
			return bad()
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n.Tag != "!!int" {
			return bad()
		}
		if _, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, t.Bits()); err != nil {
			return bad()
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Tag != "!!int" {
			return bad()
		}
		if _, err := strconv.ParseUint(strings.ReplaceAll(n.Value, "_", ""), 0, t.Bits()); err != nil {
			return bad()
		}
	case reflect.Float32, reflect.Float64:
		if n.Tag != "!!int" && n.Tag != "!!float" {
			return bad()
		}
		var v float64
		if err := n.Decode(&v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return bad()
		}
	case reflect.Bool:
		if n.Tag != "!!bool" {
			return bad()
		}
	}
	return nil
}

// checkDuration checks a duration field ("30s", "2m").
func checkDuration(n *yaml.Node, path string) error {
	msg := fmt.Errorf("%w: line %d: %s = %s, allowed a duration such as 30s, 1m30s or 2m", ErrInvalid, n.Line, path, quoted(n))
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return msg
	}
	if _, err := parseDuration(n.Value); err != nil {
		return msg
	}
	return nil
}

// allowed names what a field of Go type t accepts, in the spec's words.
func allowed(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("an integer %d..%d", int64(-1)<<(t.Bits()-1), int64(1)<<(t.Bits()-1)-1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("an integer 0..%d", uint64(math.MaxUint64)>>(64-t.Bits()))
	case reflect.Float32, reflect.Float64:
		return "a finite number"
	case reflect.Bool:
		return "true or false"
	}
	return t.String()
}

func quoted(n *yaml.Node) string {
	if n.Tag == "!!str" {
		return strconv.Quote(n.Value)
	}
	return n.Value
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

// fieldByTag returns t's field whose yaml tag names key.
func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name == key && name != "" && name != "-" {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// yamlFields lists t's yaml field names, sorted.
func yamlFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
