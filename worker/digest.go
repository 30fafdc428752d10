package worker

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/mesaopt/mesaopt/fitness"
)

// EvaluationDigest names the evaluation semantics of this binary: the
// module's release version ("devel" for an untagged build), the
// coordinator–worker protocol, fitness.Semantics and GOARCH, with a short
// hash of them first, e.g. "3f9a2c41d0e7:devel/p3/s1/amd64". Two workers
// with the same digest give bitwise equal results for every request.
//
// GOARCH is part of it because results are not bitwise portable across
// architectures: Go may fuse x*y+z into one rounding on arm64, ppc64 and
// s390x (never on amd64), and math.Exp, math.Log and others have
// architecture-specific implementations. A run therefore never mixes
// architectures. Untagged builds share "devel": between releases,
// fitness.Semantics is what separates results that differ.
func EvaluationDigest() string {
	return digestOf(releaseVersion(), ProtocolVersion, fitness.Semantics, runtime.GOARCH)
}

func digestOf(version string, protocol uint32, semantics int, goarch string) string {
	parts := fmt.Sprintf("%s/p%d/s%d/%s", version, protocol, semantics, goarch)
	sum := sha256.Sum256([]byte(parts))
	return hex.EncodeToString(sum[:6]) + ":" + parts
}

// pseudoVersion matches the end of a Go pseudo-version
// (…-yyyymmddhhmmss-abcdefabcdef): a commit, not a release.
var pseudoVersion = regexp.MustCompile(`[-.]\d{14}-[0-9a-f]{12}$`)

// releaseVersion returns the main module's tagged version, or "devel" for
// a build that is not one (a pseudo-version, a modified tree, a test).
func releaseVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" || strings.Contains(v, "+") || pseudoVersion.MatchString(v) {
		return "devel"
	}
	return v
}
