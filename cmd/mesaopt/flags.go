package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
)

// Flag checks shared by the commands. Each runs before anything starts and
// returns a usage error (exit code 2) that names the flag, the value and
// what is allowed.

// usagef is a mistake in how mesaopt was called.
func usagef(format string, args ...any) error {
	return exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// Session TTLs coordinator.New accepts, in seconds.
const minSessionTTL, maxSessionTTL = 2, 600

func checkSessionTTL(ttl int) error {
	if ttl < minSessionTTL || ttl > maxSessionTTL {
		return usagef("--session-ttl = %d, allowed %d..%d seconds", ttl, minSessionTTL, maxSessionTTL)
	}
	return nil
}

// checkAddr checks that flag's value is host:port; anyPort allows port 0
// (the system picks one), for listeners whose address is reported back.
func checkAddr(flag, v string, anyPort bool) error {
	lo, allowed := 1, "host:port with a port 1..65535"
	if anyPort {
		lo, allowed = 0, "host:port with a port 0..65535 (0: any free port)"
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return usagef("--%s = %q, allowed %s", flag, v, allowed)
	}
	if n, err := strconv.Atoi(port); err != nil || n < lo || n > 65535 {
		return usagef("--%s = %q, allowed %s", flag, v, allowed)
	}
	return nil
}

// checkAddrs checks a comma-separated list of host:port (splitList).
func checkAddrs(flag string, list []string) error {
	for _, a := range list {
		if err := checkAddr(flag, a, false); err != nil {
			return err
		}
	}
	return nil
}

// maxPEMBytes bounds a TLS certificate or key file: real ones are a few
// kilobytes, and the TLS library reads them whole.
const maxPEMBytes = 1 << 20

// checkPEMFile checks that flag names a regular file of at most
// maxPEMBytes, so a device or a huge file is refused before it is read.
func checkPEMFile(flag, path string) error {
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return usagef("--%s = %q, allowed a readable PEM file: %v", flag, path, err)
	case !fi.Mode().IsRegular():
		return usagef("--%s = %q is not a regular file, allowed a PEM file", flag, path)
	case fi.Size() > maxPEMBytes:
		return usagef("--%s = %q has %d bytes, allowed a PEM file of at most %d", flag, path, fi.Size(), maxPEMBytes)
	}
	return nil
}
