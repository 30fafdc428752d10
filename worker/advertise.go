package worker

import (
	"fmt"
	"net"

	sockaddr "github.com/hashicorp/go-sockaddr"
)

// ReachableAddr returns the host:port to announce for a listener bound
// to bound (the address it really bound, port included): bound itself
// unless its host is unspecified (0.0.0.0, ::), which nobody can dial from
// another machine or container. Then the host is the gossip advertise
// address's, when one is given (gossipAdvertise, host:port), else the
// private IP address memberlist announces for a member bound to 0.0.0.0
// (go-sockaddr's GetPrivateIP: the first RFC 1918 or RFC 6598 address of
// an interface that is up, e.g. a container's or a pod's address). It
// fails when neither exists; the caller should then ask for --advertise.
func ReachableAddr(bound, gossipAdvertise string) (string, error) {
	host, port, err := net.SplitHostPort(bound)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", bound, err)
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		return bound, nil
	}
	if gossipAdvertise != "" {
		h, _, err := net.SplitHostPort(gossipAdvertise)
		if err != nil {
			return "", fmt.Errorf("gossip advertise address %q: %w", gossipAdvertise, err)
		}
		return net.JoinHostPort(h, port), nil
	}
	ip, err := sockaddr.GetPrivateIP()
	if err != nil {
		return "", fmt.Errorf("bound to %s: finding this machine's private address: %w", bound, err)
	}
	if ip == "" {
		return "", fmt.Errorf("bound to %s and no interface has a private address to announce", bound)
	}
	return net.JoinHostPort(ip, port), nil
}
