// Package buildinfo describes the running binary for `version` commands:
// its module version, the VCS commit and time it was built from, the Go
// toolchain, and what decides whether a coordinator and a worker work
// together (the protocol version) and give the same results (the
// evaluation digest).
//
//	info := buildinfo.Read()
//	fmt.Print(info.Text("mesactl"))
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/mesaopt/mesaopt/worker"
)

// Info is what a version command prints. JSON names are those of
// `mesactl version -o json`.
type Info struct {
	// Version is the main module's version: a tag, a pseudo-version, or
	// "(devel)" for a build from a work tree (go build, go run).
	Version string `json:"version"`
	// Commit is the VCS revision built from, "" when the build did not
	// record one (go run, a test, -buildvcs=false).
	Commit string `json:"commit"`
	// Dirty reports uncommitted changes in the tree built from.
	Dirty bool `json:"dirty"`
	// Time is the commit's time, RFC 3339, "" when not recorded.
	Time string `json:"commit_time"`
	// GoVersion is the toolchain that built the binary, e.g. "go1.25.4".
	GoVersion string `json:"go_version"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
	// Protocol is the coordinator–worker protocol (worker.ProtocolVersion):
	// a coordinator refuses workers of another.
	Protocol uint32 `json:"protocol_version"`
	// EvaluationDigest is worker.EvaluationDigest(): a run only takes
	// workers whose digest is the one it started with.
	EvaluationDigest string `json:"evaluation_digest"`
}

// Read returns the running binary's Info.
func Read() Info {
	info := Info{Version: "unknown", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
		Protocol: worker.ProtocolVersion, EvaluationDigest: worker.EvaluationDigest()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	if bi.Main.Version != "" {
		info.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.modified":
			info.Dirty = s.Value == "true"
		case "vcs.time":
			info.Time = s.Value
		}
	}
	return info
}

// Short is one line: "v1.2.0 (commit 0123456789ab+dirty, go1.25.4)".
func (i Info) Short() string {
	return fmt.Sprintf("%s (commit %s, %s)", i.Version, i.commit(), i.GoVersion)
}

// commit is the revision's first 12 digits, "+dirty" after it for a
// modified tree, or "unknown".
func (i Info) commit() string {
	c := i.Commit
	if c == "" {
		return "unknown"
	}
	if len(c) > 12 {
		c = c[:12]
	}
	if i.Dirty {
		c += "+dirty"
	}
	return c
}

// Text is the Info as aligned "key: value" lines under the binary's name.
func (i Info) Text(binary string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", binary, i.Version)
	t := i.Time
	if t == "" {
		t = "unknown"
	}
	for _, kv := range [][2]string{
		{"commit", i.commit()},
		{"commit time", t},
		{"go", i.GoVersion + " " + i.Platform},
		{"protocol", fmt.Sprint(i.Protocol)},
		{"evaluation digest", i.EvaluationDigest},
	} {
		fmt.Fprintf(&b, "  %-18s %s\n", kv[0]+":", kv[1])
	}
	return b.String()
}
