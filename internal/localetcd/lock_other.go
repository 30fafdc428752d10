//go:build !unix

package localetcd

import "os"

// lockDir only creates the lock file where flock is unavailable.
func lockDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
}

// unlockDir removes the lock file.
func unlockDir(f *os.File) {
	f.Close()
	_ = os.Remove(f.Name())
}
