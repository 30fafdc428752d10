package mtls

import (
	"crypto/x509"
	"net/url"
	"slices"
	"strings"
)

// Role is what a certificate's holder may do in the cluster.
type Role string

// The roles. RoleAnyone is the role of a method open to callers without
// a certificate (health checks); no certificate carries it.
const (
	RoleCoordinator Role = "coordinator"
	RoleWorker      Role = "worker"
	RoleOperator    Role = "operator"
	RoleReadOnly    Role = "read-only"
	RoleAnyone      Role = "anyone"
)

// roleScheme and roleHost make the role URI "mesaopt://role/<role>".
const roleScheme, roleHost = "mesaopt", "role"

// RoleURI returns the URI subject alternative name that grants r:
// mesaopt://role/operator and so on.
func RoleURI(r Role) *url.URL {
	return &url.URL{Scheme: roleScheme, Host: roleHost, Path: "/" + string(r)}
}

// RolesOf returns the roles cert's URI SANs grant, in their order; URIs
// of other shapes are ignored.
func RolesOf(cert *x509.Certificate) []Role {
	var out []Role
	for _, u := range cert.URIs {
		if u.Scheme != roleScheme || u.Host != roleHost {
			continue
		}
		r := Role(strings.TrimPrefix(u.Path, "/"))
		if r != "" && r != RoleAnyone && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// grants reports whether holding have allows a method that needs need:
// the same role, or operator where read-only suffices.
func grants(have []Role, need Role) bool {
	if need == RoleAnyone {
		return true
	}
	for _, r := range have {
		if r == need || (r == RoleOperator && need == RoleReadOnly) {
			return true
		}
	}
	return false
}
