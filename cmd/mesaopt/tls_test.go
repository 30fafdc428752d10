package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mesaopt/mesaopt/internal/mtls"
)

// TestCertsInit: `mesaopt certs init` writes the CA and the four
// identities (keys 0600) with their roles and --host names, and refuses
// to overwrite them.
func TestCertsInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	out, err := exec.Command(binary, "certs", "init", dir, "--host", "coord.example,10.0.0.2").CombinedOutput()
	if err != nil {
		t.Fatalf("certs init: %v\n%s", err, out)
	}
	for name, role := range map[string]mtls.Role{mtls.FileCoordinator: mtls.RoleCoordinator, mtls.FileWorker: mtls.RoleWorker, mtls.FileOperator: mtls.RoleOperator, mtls.FileReadOnly: mtls.RoleReadOnly} {
		id, err := mtls.LoadFrom(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := id.Require(role); err != nil {
			t.Error(err)
		}
		fi, err := os.Stat(mtls.KeyFile(dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v %v, want 0600", mtls.KeyFile(dir, name), fi.Mode(), err)
		}
	}
	out, err = exec.Command(binary, "certs", "init", dir).CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(out), "file already exists") {
		t.Fatalf("certs init over existing files: exit %d\n%s", code, out)
	}
}

// TestDaemonsRefusePlaintextByDefault: without TLS files and without
// --insecure, coordinator and worker exit 2 naming the flags; a worker
// given the operator's certificate is refused for lacking role worker.
func TestDaemonsRefusePlaintextByDefault(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	if err := mtls.WriteDir(dir, nil); err != nil {
		t.Fatal(err)
	}
	nowhere := freeAddr(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"coordinator", "--etcd", nowhere}, "give --tls-cert, --tls-key and --tls-ca"},
		{[]string{"worker", "--join", nowhere}, "give --tls-cert, --tls-key and --tls-ca"},
		{append([]string{"worker", "--join", nowhere}, strings.Fields(tlsArgs(dir, mtls.FileOperator))...), "lacks the role worker"},
		{[]string{"worker", "--join", nowhere, "--insecure", "--tls-ca", mtls.CertFile(dir, mtls.FileCA)}, "--insecure with --tls-cert"},
		{[]string{"coordinator", "--etcd", nowhere, "--tls-cert", mtls.CertFile(dir, mtls.FileCoordinator)}, "--tls-key is missing"},
	} {
		out, err := exec.Command(binary, tc.args...).CombinedOutput()
		if code := exitCode(err); code != 2 || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: exit %d, want 2 with %q:\n%s", tc.args, code, tc.want, out)
		}
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
