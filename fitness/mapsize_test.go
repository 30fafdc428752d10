package fitness

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestMapSizeBounded checks that every way a map comes in is bounded by
// MaxMapBytes: a file is read at most one byte past the limit (devices that
// never end are refused), and ParseMap refuses longer text unparsed.
func TestMapSizeBounded(t *testing.T) {
	limit := strconv.Itoa(MaxMapBytes)
	for _, dev := range []string{"/dev/zero", "/dev/urandom"} {
		if _, err := os.Stat(dev); err != nil {
			t.Logf("%s: %v; skipped", dev, err)
			continue
		}
		_, err := ReadMapFile(dev)
		if !errors.Is(err, ErrMap) || !strings.Contains(err.Error(), dev) || !strings.Contains(err.Error(), limit) {
			t.Errorf("ReadMapFile(%s) = %v, want ErrMap naming the file and %s bytes", dev, err, limit)
		}
	}

	grid := "#####\n#@.G#\n#####\n"
	comment := "; " + strings.Repeat("x", 70) + "\n"
	fits := strings.Repeat(comment, (MaxMapBytes-len(grid))/len(comment))
	fits += strings.Repeat(";", MaxMapBytes-len(grid)-len(fits)-1) + "\n" + grid
	if len(fits) != MaxMapBytes {
		t.Fatalf("test map is %d bytes, want %d", len(fits), MaxMapBytes)
	}
	dir := t.TempDir()
	at, over := filepath.Join(dir, "at.txt"), filepath.Join(dir, "over.txt")
	if err := os.WriteFile(at, []byte(fits), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(over, []byte(";"+fits), 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := ReadMapFile(at)
	if err != nil {
		t.Fatalf("a map of exactly MaxMapBytes: %v", err)
	}
	if _, err := ParseMap(at, data); err != nil {
		t.Fatalf("a map of exactly MaxMapBytes: %v", err)
	}
	if _, err := ReadMapFile(over); !errors.Is(err, ErrMap) || !strings.Contains(err.Error(), over) {
		t.Errorf("a map one byte too large: %v", err)
	}
	if _, err := ParseMap("inline", []byte(";"+fits)); !errors.Is(err, ErrMap) || !strings.Contains(err.Error(), "inline is larger than the "+limit+" bytes") {
		t.Errorf("ParseMap of one byte too many: %v", err)
	}
	// The largest grid with CRLF line ends fits with room to spare.
	row := strings.Repeat(".", MaxMapSide) + "\r\n"
	big := "@" + row[1:] + strings.Repeat(row, MaxMapSide-1)
	if _, err := ParseMap("big", []byte(big)); err != nil {
		t.Errorf("a %d × %d grid: %v", MaxMapSide, MaxMapSide, err)
	}
}
