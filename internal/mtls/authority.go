package mtls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Validity of the certificates an Authority issues.
const (
	CAValidity   = 10 * 365 * 24 * time.Hour
	CertValidity = 365 * 24 * time.Hour
)

// Authority is a certificate authority of ECDSA P-256 keys, for a quick
// start and for `mesaopt run`; a real deployment may use its own PKI (see
// the README for what the certificates must carry).
type Authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

// NewAuthority makes a self-signed CA called name.
func NewAuthority(name string) (*Authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"mesaopt"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Authority{cert: cert, key: key, pem: pemBlock("CERTIFICATE", der)}, nil
}

// CertPEM is the CA certificate, the ca.pem every process trusts.
func (a *Authority) CertPEM() []byte { return a.pem }

// KeyPEM is the CA's private key.
func (a *Authority) KeyPEM() ([]byte, error) { return keyPEM(a.key) }

// Request describes a certificate to issue.
type Request struct {
	// Name is the subject common name, e.g. "coordinator".
	Name string
	// Roles are written as URI SANs (RoleURI).
	Roles []Role
	// Server and Client set the extended key usages.
	Server, Client bool
	// Hosts are DNS names or IP addresses the certificate is valid for
	// (servers).
	Hosts []string
}

// Issue signs a new key's certificate for r; it returns both in PEM.
func (a *Authority) Issue(r Request) (certPEM, keyPEMBytes []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: r.Name, Organization: []string{"mesaopt"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(CertValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if r.Server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if r.Client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	for _, h := range r.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	for _, role := range r.Roles {
		tmpl.URIs = append(tmpl.URIs, RoleURI(role))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return nil, nil, err
	}
	kp, err := keyPEM(key)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("CERTIFICATE", der), kp, nil
}

// The files of a certificate directory (WriteDir): NAME.pem and
// NAME-key.pem for each of these names, ca.pem first.
const (
	FileCA          = "ca"
	FileCoordinator = "coordinator"
	FileWorker      = "worker"
	FileOperator    = "operator"
	FileReadOnly    = "read-only"
)

// CertFile and KeyFile are the paths of name's certificate and key in dir.
func CertFile(dir, name string) string { return filepath.Join(dir, name+".pem") }
func KeyFile(dir, name string) string  { return filepath.Join(dir, name+"-key.pem") }

// LoadFrom loads the identity name (FileCoordinator, ...) of a directory
// WriteDir made.
func LoadFrom(dir, name string) (*Identity, error) {
	return Load(CertFile(dir, name), KeyFile(dir, name), CertFile(dir, FileCA))
}

// LoopbackHosts are the names every server certificate of WriteDir holds.
var LoopbackHosts = []string{"localhost", "127.0.0.1", "::1"}

// WriteDir makes a CA and the cluster's certificates in dir (created 0700
// if missing): the CA; coordinator (server and client use, role
// coordinator); worker (server use, role worker); operator and read-only
// (client use). Server certificates name LoopbackHosts and hosts. Keys are
// written 0600, certificates 0644. Existing files are never overwritten:
// if any of them exists, nothing is written and the error wraps
// fs.ErrExist.
func WriteDir(dir string, hosts []string) error {
	names := []string{FileCA, FileCoordinator, FileWorker, FileOperator, FileReadOnly}
	for _, n := range names {
		for _, p := range []string{CertFile(dir, n), KeyFile(dir, n)} {
			if _, err := os.Lstat(p); err == nil {
				return fmt.Errorf("%s: %w (remove it or choose another directory)", p, fs.ErrExist)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	ca, err := NewAuthority("mesaopt CA")
	if err != nil {
		return err
	}
	server := append(append([]string(nil), LoopbackHosts...), hosts...)
	files := map[string][2][]byte{}
	caKey, err := ca.KeyPEM()
	if err != nil {
		return err
	}
	files[FileCA] = [2][]byte{ca.CertPEM(), caKey}
	for _, r := range []Request{
		{Name: FileCoordinator, Roles: []Role{RoleCoordinator}, Server: true, Client: true, Hosts: server},
		{Name: FileWorker, Roles: []Role{RoleWorker}, Server: true, Hosts: server},
		{Name: FileOperator, Roles: []Role{RoleOperator}, Client: true},
		{Name: FileReadOnly, Roles: []Role{RoleReadOnly}, Client: true},
	} {
		c, k, err := ca.Issue(r)
		if err != nil {
			return err
		}
		files[r.Name] = [2][]byte{c, k}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, n := range names {
		if err := writeNew(CertFile(dir, n), files[n][0], 0o644); err != nil {
			return err
		}
		if err := writeNew(KeyFile(dir, n), files[n][1], 0o600); err != nil {
			return err
		}
	}
	return nil
}

// EnsureDir returns dir's certificates as WriteDir makes them, reusing
// them while every file loads, its roles are as WriteDir gives them and
// none expires within a day; otherwise it replaces them all with new ones.
// It is what `mesaopt run` keeps in its data directory.
func EnsureDir(dir string) error {
	if dirUsable(dir) {
		return nil
	}
	for _, n := range []string{FileCA, FileCoordinator, FileWorker, FileOperator, FileReadOnly} {
		for _, p := range []string{CertFile(dir, n), KeyFile(dir, n)} {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return WriteDir(dir, nil)
}

func dirUsable(dir string) bool {
	soon := time.Now().Add(24 * time.Hour)
	for name, role := range map[string]Role{FileCoordinator: RoleCoordinator, FileWorker: RoleWorker, FileOperator: RoleOperator, FileReadOnly: RoleReadOnly} {
		id, err := LoadFrom(dir, name)
		if err != nil || id.Require(role) != nil || id.leaf.NotAfter.Before(soon) {
			return false
		}
		if _, err := id.leaf.Verify(x509.VerifyOptions{Roots: id.roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, CurrentTime: soon}); err != nil {
			return false
		}
	}
	return true
}

func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func keyPEM(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pemBlock("PRIVATE KEY", der), nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// serial is a random 127-bit serial number (RFC 5280 allows up to 20 octets).
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n
}
