package worker

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/hashicorp/memberlist"
)

// Gossip configures the security and addressing of a gossip member.
type Gossip struct {
	// Keys is the keyring: every key encrypts and authenticates gossip
	// with AES-GCM (memberlist's keyring); the first is the primary, used
	// to send, and every one is accepted when receiving, so a key can be
	// rotated without a partition (see ParseGossipKeys). Empty: plaintext
	// gossip, which any process that reaches the port may join.
	Keys [][]byte
	// Advertise is the host:port other members reach this member's gossip
	// at, when it differs from the bind address (a container bound to
	// 0.0.0.0, announced by its service name or node address). Empty: the
	// bind address (memberlist picks an interface's address for 0.0.0.0).
	Advertise string
}

// GossipKeyEnv is the environment variable that may hold the gossip
// keyring in the gossip key file's format, instead of --gossip-key-file.
const GossipKeyEnv = "MESAOPT_GOSSIP_KEY"

// ErrGossipKey is wrapped by ParseGossipKeys' errors.
var ErrGossipKey = errors.New("gossip key")

// GenerateGossipKey returns a fresh random 32-byte gossip key, base64
// encoded (standard alphabet, padded): one line of a gossip key file.
func GenerateGossipKey() (string, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return "", fmt.Errorf("%w: %v", ErrGossipKey, err)
	}
	return base64.StdEncoding.EncodeToString(k), nil
}

// ParseGossipKeys parses a gossip keyring: one base64 key of 16, 24 or 32
// bytes (AES-128, -192, -256) per line, the first the primary, the others
// accepted while a rotation is under way. Blank lines and lines starting
// with '#' are skipped; a key given twice is refused. source names where
// the text came from, for the errors.
//
// Rotation, with every member's keyring K: add the new key as a secondary
// (K, new) everywhere, restarting members one by one; then make it the
// primary (new, K) everywhere; then remove the old one (new). Members of
// adjacent steps share a key, so the cluster never splits.
func ParseGossipKeys(source, text string) ([][]byte, error) {
	var keys [][]byte
	seen := map[string]bool{} // lookup only
	sc := bufio.NewScanner(strings.NewReader(text))
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %s line %d is not base64 (%v), allowed base64 of 16, 24 or 32 random bytes (mesaopt gossip-key)", ErrGossipKey, source, line, err)
		}
		if n := len(k); n != 16 && n != 24 && n != 32 {
			return nil, fmt.Errorf("%w: %s line %d is %d bytes, allowed 16, 24 or 32 (mesaopt gossip-key)", ErrGossipKey, source, line, n)
		}
		if seen[s] {
			return nil, fmt.Errorf("%w: %s line %d repeats an earlier key, allowed each key once", ErrGossipKey, source, line)
		}
		seen[s] = true
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrGossipKey, source, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: %s holds no key, allowed one base64 key per line, the primary first", ErrGossipKey, source)
	}
	return keys, nil
}

// applyGossip sets c's keyring and advertised address from g.
func applyGossip(c *memberlist.Config, g Gossip) error {
	if len(g.Keys) > 0 {
		kr, err := memberlist.NewKeyring(g.Keys[1:], g.Keys[0])
		if err != nil {
			return fmt.Errorf("%w: %v", ErrGossipKey, err)
		}
		c.Keyring = kr
		// Both directions: a member that accepted plaintext would let
		// anyone without the key join through it.
		c.GossipVerifyIncoming, c.GossipVerifyOutgoing = true, true
	}
	if g.Advertise != "" {
		host, port, err := splitAdvertise(g.Advertise)
		if err != nil {
			return fmt.Errorf("gossip advertise address %q: %w", g.Advertise, err)
		}
		c.AdvertiseAddr, c.AdvertisePort = host, port
	}
	return nil
}

// splitAdvertise parses host:port, resolving a name to an IP address
// (memberlist announces addresses, not names).
func splitAdvertise(addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("port %q, allowed 1..65535", portStr)
	}
	if net.ParseIP(host) == nil {
		ips, err := net.LookupIP(host)
		if err != nil || len(ips) == 0 {
			return "", 0, fmt.Errorf("host %q does not resolve: %v", host, err)
		}
		host = ips[0].String()
	}
	return host, port, nil
}

// IsLoopback reports whether a bind address (host:port) only listens on
// loopback: a loopback IP or "localhost". 0.0.0.0, "" and other names are
// not.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
