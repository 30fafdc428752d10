package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mesaopt/mesaopt/internal/mtls"
)

// certDir holds the tests' certificates (mtls.WriteDir); TestMain makes
// mesactl use the operator's through MESAOPT_TLS_* and the tests'
// coordinators serve with the coordinator's.
var certDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mesactl-certs")
	if err != nil {
		panic(err)
	}
	certDir = filepath.Join(dir, "tls")
	if err := mtls.WriteDir(certDir, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	setTLSEnv(mtls.FileOperator)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func setTLSEnv(name string) {
	os.Setenv("MESAOPT_TLS_CERT", mtls.CertFile(certDir, name))
	os.Setenv("MESAOPT_TLS_KEY", mtls.KeyFile(certDir, name))
	os.Setenv("MESAOPT_TLS_CA", mtls.CertFile(certDir, mtls.FileCA))
}

func coordinatorIdentity(t *testing.T) *mtls.Identity {
	t.Helper()
	id, err := mtls.LoadFrom(certDir, mtls.FileCoordinator)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestRoles checks mesactl against a TLS coordinator: the read-only
// certificate lists runs and is refused a submit naming the role needed,
// the operator's submits and cancels, and no credentials at all is a usage
// error naming the flags.
func TestRoles(t *testing.T) {
	addr := startCoordinator(t)
	exp := filepath.Join(t.TempDir(), "exp.yaml")
	writeFile(t, exp, "name: ctl\ngenerations: 50\npopulation: 10\nelites: 1\nepisodes: 2\nanalysis_episodes: 2\n")
	ro := []string{"--tls-cert", mtls.CertFile(certDir, mtls.FileReadOnly), "--tls-key", mtls.KeyFile(certDir, mtls.FileReadOnly)}

	if _, errOut, code := mesactl(t, append(ro, "--coordinator", addr, "runs")...); code != 0 {
		t.Fatalf("read-only runs: %d %s", code, errOut)
	}
	if _, errOut, code := mesactl(t, append(ro, "--coordinator", addr, "run", "submit", "-f", exp)...); code != 1 || !strings.Contains(errOut, "PermissionDenied") || !strings.Contains(errOut, "needs role operator") {
		t.Fatalf("read-only submit: %d %s", code, errOut)
	}
	out, errOut, code := mesactl(t, "--coordinator", addr, "run", "submit", "-f", exp)
	if code != 0 {
		t.Fatalf("operator submit: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	if _, errOut, code := mesactl(t, append(ro, "--coordinator", addr, "run", "cancel", id)...); code != 1 || !strings.Contains(errOut, "PermissionDenied") {
		t.Fatalf("read-only cancel: %d %s", code, errOut)
	}
	if _, errOut, code := mesactl(t, "--coordinator", addr, "run", "cancel", id); code != 0 {
		t.Fatalf("operator cancel: %d %s", code, errOut)
	}
	// A worker's certificate is no client's: refused before dialling.
	wk := []string{"--tls-cert", mtls.CertFile(certDir, mtls.FileWorker), "--tls-key", mtls.KeyFile(certDir, mtls.FileWorker)}
	if _, errOut, code := mesactl(t, append(wk, "--coordinator", addr, "runs")...); code != 2 || !strings.Contains(errOut, "allowed a client certificate of role operator or read-only") {
		t.Fatalf("worker certificate: %d %s", code, errOut)
	}

	t.Setenv("MESAOPT_TLS_CERT", "")
	t.Setenv("MESAOPT_TLS_KEY", "")
	t.Setenv("MESAOPT_TLS_CA", "")
	if _, errOut, code := mesactl(t, "--coordinator", addr, "runs"); code != 2 || !strings.Contains(errOut, "--tls-cert, --tls-key and --tls-ca") {
		t.Fatalf("no credentials: %d %s", code, errOut)
	}
	// Plaintext toward a TLS coordinator gets nowhere.
	if _, errOut, code := mesactl(t, "--coordinator", addr, "--insecure", "--timeout", "1s", "runs"); code == 0 || !strings.Contains(errOut, "the TLS handshake failed") {
		t.Fatalf("plaintext against TLS: %d %s", code, errOut)
	}
}
