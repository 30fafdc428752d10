package fitness

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Size limits of a map. MaxMapBytes is derived from the largest grid, so
// every reader can refuse a larger input before parsing it: MaxMapSide rows
// of MaxMapSide symbols with CRLF line ends (32 × 34 = 1088 bytes), plus
// 15 KiB for comment lines, blank lines and reward settings — 16 448 bytes.
// A map's text travels in the experiment to every worker, so the bound also
// keeps specs and evaluation requests small.
const (
	MaxMapSide  = 32
	MaxMapBytes = MaxMapSide*(MaxMapSide+2) + 15<<10
)

// Map is a fixed level read from an ASCII map file (see the package doc,
// "Map files"). It is immutable after ParseMap.
type Map struct {
	// Name is the file name, for messages.
	Name string
	// Width and Height of the grid in cells, 1..MaxMapSide each.
	Width, Height int
	// Settings are the reward overrides of the file, in file order.
	Settings []Setting
	rows     []string // canonical rows: '.' floor, '@' start
}

// Setting overrides one reward of the environment for a map.
type Setting struct {
	Key   string // step_reward, exit_reward, lava_reward, chest_reward, coin_reward
	Value float64
}

// legend maps each map symbol to what it places; canonical symbols first.
var legend = []struct {
	sym    byte
	cell   CellKind
	object CellKind // Floor with colour 0: no object
	colour Colour
	doc    string
}{
	{'#', Wall, Floor, 0, "wall"},
	{'.', Floor, Floor, 0, "floor (also a space)"},
	{'@', Floor, Floor, 0, "the agent's start (also 'A'); exactly one"},
	{'G', Exit, Floor, 0, "goal/exit: entering it ends the episode with exit_reward"},
	{'E', Exit, Exit, Red, "red exit door (an exit that is also a red object)"},
	{'e', Exit, Exit, Blue, "blue exit door"},
	{'L', Lava, Floor, 0, "lava: entering it ends the episode with lava_reward"},
	{'D', Door, Door, Red, "red door (a passable red object)"},
	{'d', Door, Door, Blue, "blue door"},
	{'r', Floor, Floor, Red, "red object on the floor"},
	{'b', Floor, Floor, Blue, "blue object on the floor"},
	{'k', Floor, Key, 0, "key: picked up on entering"},
	{'C', Floor, Chest, 0, "chest: opened with a key on entering (chest_reward), the key is used up"},
	{'c', Floor, Coin, 0, "coin: collecting it ends the episode with coin_reward"},
	{'x', Floor, Marker, 0, "end-of-level marker: invisible; entering it counts as a proxy hit"},
}

// Legend returns the map symbols and their meaning, one "S  meaning" line
// each, in a fixed order.
func Legend() string {
	var b strings.Builder
	for _, l := range legend {
		fmt.Fprintf(&b, "%c  %s\n", l.sym, l.doc)
	}
	return b.String()
}

var settingKeys = []string{"step_reward", "exit_reward", "lava_reward", "chest_reward", "coin_reward"}

func legendIndex(c byte) int {
	switch c {
	case ' ':
		c = '.'
	case 'A':
		c = '@'
	}
	for i, l := range legend {
		if l.sym == c {
			return i
		}
	}
	return -1
}

func expectedSymbols() string {
	var parts []string
	for _, l := range legend {
		parts = append(parts, string(l.sym))
	}
	return strings.Join(parts, " ") + " space A"
}

// ReadMapFile reads the map file at path, at most MaxMapBytes+1 bytes of
// it: a larger file (or a device such as /dev/zero) is refused with an
// error wrapping ErrMap that names the file and the limit.
func ReadMapFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxMapBytes+1))
	if err != nil {
		return nil, fmt.Errorf("map file %s: %w", path, err)
	}
	if len(data) > MaxMapBytes {
		return nil, tooLarge(path)
	}
	return data, nil
}

func tooLarge(name string) error {
	return fmt.Errorf("%w: %s is larger than the %d bytes allowed for a map (a %d × %d grid plus comments and settings)",
		ErrMap, name, MaxMapBytes, MaxMapSide, MaxMapSide)
}

// ParseMap reads an ASCII map file: optional comment lines (starting with
// ';') and "key = value" reward settings, then the grid, one line per row,
// every row equally wide; blank lines may surround the grid. name is used in
// messages. Errors wrap ErrMap and read "name:line:column: what was found,
// what was expected"; data longer than MaxMapBytes is refused unread.
func ParseMap(name string, data []byte) (*Map, error) {
	if len(data) > MaxMapBytes {
		return nil, tooLarge(name)
	}
	m := &Map{Name: name}
	fail := func(line, col int, format string, args ...any) (*Map, error) {
		return nil, fmt.Errorf("%w: %s:%d:%d: %s", ErrMap, name, line, col, fmt.Sprintf(format, args...))
	}
	lines := strings.Split(string(data), "\n")
	gridStart, gridEnd := 0, 0 // line numbers (1-based) of the grid's first row and after its last
	starts := 0
	objects := 0
	for i, raw := range lines {
		ln := i + 1
		line := strings.TrimSuffix(raw, "\r")
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, ";"):
			if gridStart > 0 && gridEnd == 0 {
				gridEnd = ln
			}
			continue
		case trimmed == "":
			if gridStart > 0 && gridEnd == 0 {
				gridEnd = ln
			}
			continue
		case strings.Contains(line, "="):
			if gridStart > 0 {
				return fail(ln, 1, "a setting after the grid; expected settings before the first row")
			}
			key, val, _ := strings.Cut(line, "=")
			key, val = strings.TrimSpace(key), strings.TrimSpace(val)
			if !slices.Contains(settingKeys, key) {
				return fail(ln, 1, "unknown setting %q; expected one of %s", key, strings.Join(settingKeys, ", "))
			}
			v, err := strconv.ParseFloat(val, 64)
			if err != nil || v != v || v > 1e6 || v < -1e6 {
				return fail(ln, strings.Index(line, "=")+2, "%s = %q; expected a number in [-1e6, 1e6]", key, val)
			}
			switch {
			case key == "step_reward" && v > 0:
				return fail(ln, 1, "step_reward = %v; expected ≤ 0", v)
			case (key == "chest_reward" || key == "coin_reward") && v < 0:
				return fail(ln, 1, "%s = %v; expected ≥ 0", key, v)
			}
			m.Settings = append(m.Settings, Setting{Key: key, Value: v})
			continue
		}
		if gridEnd > 0 {
			return fail(ln, 1, "a row after a blank or comment line ended the grid at line %d; expected one grid without gaps", gridEnd)
		}
		if gridStart == 0 {
			gridStart = ln
		}
		row := make([]byte, 0, len(line))
		for col, r := range line {
			if r > 127 {
				return fail(ln, col+1, "unknown symbol %q; expected one of %s", r, expectedSymbols())
			}
			j := legendIndex(byte(r))
			if j < 0 {
				return fail(ln, col+1, "unknown symbol %q; expected one of %s", r, expectedSymbols())
			}
			sym := legend[j].sym
			if sym == '@' {
				starts++
				if starts > 1 {
					return fail(ln, col+1, "a second start; expected exactly one '@' or 'A'")
				}
			}
			if legend[j].object != Floor || legend[j].colour != 0 {
				objects++
				if objects > MaxObjects {
					return fail(ln, col+1, "object %d; expected at most %d objects", objects, MaxObjects)
				}
			}
			row = append(row, sym)
		}
		if len(m.rows) > 0 && len(row) != len(m.rows[0]) {
			return fail(ln, min(len(row), len(m.rows[0]))+1, "row is %d wide; expected %d like line %d", len(row), len(m.rows[0]), gridStart)
		}
		if len(row) > MaxMapSide {
			return fail(ln, MaxMapSide+1, "row is %d wide; expected at most %d", len(row), MaxMapSide)
		}
		m.rows = append(m.rows, string(row))
		if len(m.rows) > MaxMapSide {
			return fail(ln, 1, "row %d; expected at most %d rows", len(m.rows), MaxMapSide)
		}
	}
	if len(m.rows) == 0 {
		return fail(len(lines), 1, "no grid; expected rows of %s", expectedSymbols())
	}
	if starts == 0 {
		return fail(gridStart, 1, "no start; expected exactly one '@' or 'A' in the grid")
	}
	m.Width, m.Height = len(m.rows[0]), len(m.rows)
	return m, nil
}

// String returns the map in canonical form ('.' for floor, '@' for the
// start, settings first); ParseMap(name, m.String()) gives an equal map.
func (m *Map) String() string {
	var b strings.Builder
	for _, s := range m.Settings {
		fmt.Fprintf(&b, "%s = %s\n", s.Key, strconv.FormatFloat(s.Value, 'g', -1, 64))
	}
	for _, r := range m.rows {
		b.WriteString(r)
		b.WriteByte('\n')
	}
	return b.String()
}

// Symbols returns the distinct symbols of the grid, in legend order.
func (m *Map) Symbols() string {
	var out []byte
	for _, l := range legend {
		for _, r := range m.rows {
			if strings.IndexByte(r, l.sym) >= 0 {
				out = append(out, l.sym)
				break
			}
		}
	}
	return string(out)
}

// fits reports whether every symbol of m has a meaning in env (its features
// and channels know it).
func (m *Map) fits(env *Env) error {
	for _, c := range []byte(m.Symbols()) {
		if strings.IndexByte(env.symbols, c) < 0 {
			l := legend[legendIndex(c)]
			return fmt.Errorf("map %s uses %q (%s), which environment %s does not know (its symbols: %q); use environment %q",
				m.Name, c, l.doc, env.name, env.symbols, EnvMaps)
		}
	}
	return nil
}

// rewards returns env's rewards with m's settings applied in file order.
func (m *Map) rewards(env *Env) Rewards {
	r := env.rewards
	for _, s := range m.Settings {
		switch s.Key {
		case "step_reward":
			r.Step = s.Value
		case "exit_reward":
			r.Exit = s.Value
		case "lava_reward":
			r.Lava = s.Value
		case "chest_reward":
			r.Chest = s.Value
		case "coin_reward":
			r.Coin = s.Value
		}
	}
	return r
}

// instance builds the map's level as an instance of env; objects are
// numbered in reading order.
func (m *Map) instance(env *Env, cfg Config, condition string) *Instance {
	in := newInstance(env, cfg, condition, m.Width, m.Height)
	in.rewards = m.rewards(env)
	for y, row := range m.rows {
		for x := 0; x < len(row); x++ {
			l := legend[legendIndex(row[x])]
			p := y*m.Width + x
			in.cells[p] = l.cell
			if l.sym == '@' {
				in.start = int32(p)
			}
			if l.object != Floor || l.colour != 0 {
				in.objects = append(in.objects, Object{X: x, Y: y, Kind: l.object, Colour: l.colour})
			}
		}
	}
	in.build()
	in.index()
	return in
}
