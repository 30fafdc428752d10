//go:build unix

package localetcd

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestLockDir checks that a held lock refuses a second holder and that
// unlocking removes the file, so nothing is left behind.
func TestLockDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "etcd.lock")
	f, err := lockDir(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockDir(path); !errors.Is(err, ErrInUse) {
		t.Fatalf("second lock: %v, want ErrInUse", err)
	}
	unlockDir(f)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("lock file after unlock: %v", err)
	}
	g, err := lockDir(path)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlockDir(g)
}
