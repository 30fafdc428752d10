package fitness

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Render draws the start state as ASCII; see RenderState.
func (in *Instance) Render() string { return in.RenderState(in.Start()) }

// RenderState draws s as ASCII, one line per row, in the symbols of the map
// format (see Legend), followed by a line naming the condition, seed,
// optimum and steps and a legend of the symbols shown: '@' agent, and for
// touched objects '+' a passed door, 'R'/'B' a touched red/blue object, 'o'
// an opened chest; collected keys and coins are gone.
func (in *Instance) RenderState(s State) string {
	var b strings.Builder
	var shown []byte
	for y := 0; y < in.h; y++ {
		for x := 0; x < in.w; x++ {
			p := y*in.w + x
			c := in.cellSymbol(p, s.Touched)
			if int32(p) == s.Pos {
				c = '@'
			}
			if !strings.ContainsRune(string(shown), rune(c)) {
				shown = append(shown, c)
			}
			b.WriteByte(c)
		}
		b.WriteByte('\n')
	}
	if in.env == doorsEnv && in.cfg.Maps == nil {
		fmt.Fprintf(&b, "%s seed=%d optimum=%d steps=%d  # wall . floor @ agent D/d red/blue door E/e red/blue exit r red object\n",
			in.condition, in.seed, in.optimum, s.Steps)
		return b.String()
	}
	fmt.Fprintf(&b, "%s %s seed=%d optimum_return=%s steps=%d ", in.env.name, in.condition, in.seed,
		strconv.FormatFloat(in.OptimumReturn(), 'g', -1, 64), s.Steps)
	if h := in.Held(s); h > 0 {
		fmt.Fprintf(&b, "keys_held=%d ", h)
	}
	b.WriteString(" legend:")
	for _, c := range renderLegend {
		if strings.IndexByte(string(shown), c.sym) >= 0 {
			fmt.Fprintf(&b, " %c %s", c.sym, c.doc)
		}
	}
	b.WriteByte('\n')
	return b.String()
}

var renderLegend = []struct {
	sym byte
	doc string
}{
	{'#', "wall"}, {'.', "floor"}, {'@', "agent"}, {'G', "exit"}, {'E', "red exit"}, {'e', "blue exit"},
	{'L', "lava"}, {'D', "red door"}, {'d', "blue door"}, {'+', "passed door"}, {'r', "red object"},
	{'R', "touched red object"}, {'b', "blue object"}, {'B', "touched blue object"}, {'k', "key"},
	{'C', "chest"}, {'o', "opened chest"}, {'c', "coin"}, {'x', "end of level"},
}

// cellSymbol returns the symbol of cell p given the touched objects.
func (in *Instance) cellSymbol(p int, touched uint64) byte {
	c := byte('.')
	switch in.cells[p] {
	case Wall:
		c = '#'
	case Exit:
		c = 'G'
	case Lava:
		c = 'L'
	case Door:
		c = 'D'
	}
	m := in.objBits[p]
	if m&in.masks[classCoin] != 0 && m&in.masks[classCoin]&touched == 0 {
		return 'c'
	}
	for ; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		o := in.objects[i]
		t := touched&(1<<i) != 0
		switch {
		case o.Kind == Door && t:
			return '+'
		case o.Kind == Door && o.Colour == Blue:
			return 'd'
		case o.Kind == Door:
			return 'D'
		case o.Kind == Exit && o.Colour == Red:
			return 'E'
		case o.Kind == Exit && o.Colour == Blue:
			return 'e'
		case o.Kind == Key && !t:
			return 'k'
		case o.Kind == Chest && t:
			return 'o'
		case o.Kind == Chest:
			return 'C'
		case o.Kind == Marker:
			return 'x'
		case o.Kind == Floor && o.Colour == Red && t:
			return 'R'
		case o.Kind == Floor && o.Colour == Red:
			return 'r'
		case o.Kind == Floor && o.Colour == Blue && t:
			return 'B'
		case o.Kind == Floor && o.Colour == Blue:
			return 'b'
		}
	}
	return c
}
