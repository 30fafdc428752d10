package localetcd

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// tmpfs mounts a tmpfs of size (e.g. "50m") on a fresh directory; it needs
// root (the cmd/mesaopt tests also run without it, in a user namespace).
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("needs Linux and root to mount a tmpfs of a given size; skipped")
	}
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s); skipped", err, out)
	}
	t.Cleanup(func() {
		if exec.Command("umount", dir).Run() != nil {
			_ = exec.Command("umount", "-l", dir).Run()
		}
	})
	return dir
}

// TestStartOnFullDisk checks that Start refuses a disk without room for
// etcd's write-ahead log, releasing the lock, and starts there once the
// disk is larger.
func TestStartOnFullDisk(t *testing.T) {
	disk := tmpfs(t, "50m")
	cfg := Config{Dir: filepath.Join(disk, "etcd"), ClientAddr: freeAddr(t), PeerAddr: freeAddr(t)}
	_, err := Start(cfg)
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), cfg.Dir) || !strings.Contains(err.Error(), "MiB free") {
		t.Fatalf("Start on a 50 MB disk: %v", err)
	}
	if _, err := os.Stat(cfg.Dir + ".lock"); !os.IsNotExist(err) {
		t.Fatalf("lock file after a refused start: %v", err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "remount,size=300m", "tmpfs", disk).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start on the larger disk: %v", err)
	}
	s.Close()
	if _, err := os.Stat(cfg.Dir + ".lock"); !os.IsNotExist(err) {
		t.Fatalf("lock file after Close: %v", err)
	}
}

// TestStartFailureInEtcdIsAnError skips the free-space check (as when the
// disk fills between it and etcd's start): etcd's panic on the full disk
// ("failed to create WAL") comes back as an error wrapping ErrNoSpace.
func TestStartFailureInEtcdIsAnError(t *testing.T) {
	disk := tmpfs(t, "50m")
	s := &Server{cfg: Config{Dir: filepath.Join(disk, "etcd"), ClientAddr: freeAddr(t), PeerAddr: freeAddr(t)}, failed: make(chan struct{})}
	err := s.start()
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "failed to create WAL") || !strings.Contains(err.Error(), s.cfg.Dir) {
		t.Fatalf("start on a full disk: %v, want ErrNoSpace from etcd's failure to create its WAL", err)
	}
}
