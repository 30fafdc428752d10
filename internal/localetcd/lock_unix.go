//go:build unix

package localetcd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// lockDir takes an exclusive, non-blocking lock on path (created if
// missing) and writes this process's pid into it. The lock dies with the
// process, also on SIGKILL.
func lockDir(path string) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			pid := make([]byte, 32)
			n, _ := io.ReadFull(f, pid)
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, fmt.Errorf("%w (pid %s)", ErrInUse, strings.TrimSpace(string(pid[:n])))
			}
			return nil, err
		}
		// unlockDir removes the file before it unlocks: a lock taken on a
		// file removed meanwhile guards nothing, so take the new one.
		if held, err := f.Stat(); err == nil {
			if named, err := os.Stat(path); err == nil && os.SameFile(held, named) {
				_ = f.Truncate(0)
				_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
				return f, nil
			}
		}
		f.Close()
	}
}

// unlockDir removes the lock file, then releases the lock.
func unlockDir(f *os.File) {
	_ = os.Remove(f.Name())
	f.Close()
}
