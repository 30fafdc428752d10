package buildinfo_test

import (
	"fmt"

	"github.com/mesaopt/mesaopt/internal/buildinfo"
)

// A version command prints Text; a log line at start-up can carry Short.
func Example() {
	info := buildinfo.Read()
	fmt.Print(info.Text("mesaopt"))
	fmt.Println("protocol", info.Protocol, "digest", info.EvaluationDigest)
}
