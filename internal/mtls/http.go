package mtls

import (
	"fmt"
	"net/http"
)

// RequireHTTP serves next to the callers whose verified client
// certificate grants need (operator grants read-only), as Policy does for
// gRPC: 401 Unauthorized without a verified certificate, 403 Forbidden
// with one lacking the role, each with a message naming what is needed.
// The server's TLS configuration must ask for client certificates
// (ServerTLS does).
func RequireHTTP(need Role, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
			http.Error(w, fmt.Sprintf("this page needs a client certificate with role %s signed by the cluster CA (mesaopt certs init makes read-only.pem)", roleOrOperator(need)), http.StatusUnauthorized)
			return
		}
		leaf := r.TLS.VerifiedChains[0][0]
		if have := RolesOf(leaf); !grants(have, need) {
			http.Error(w, fmt.Sprintf("this page needs role %s; certificate %q has %s", roleOrOperator(need), leaf.Subject.CommonName, roleList(have)), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// roleOrOperator names need with the operator role, which grants it
// where need is read-only.
func roleOrOperator(need Role) string {
	if need == RoleReadOnly {
		return fmt.Sprintf("%s or %s", RoleReadOnly, RoleOperator)
	}
	return string(need)
}
