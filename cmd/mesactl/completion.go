package main

// Shell completion: cobra's completion command, which needs no
// coordinator, and run and sweep ids completed from the coordinator when
// one answers quickly.

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mesaopt/mesaopt/internal/render"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// completionTimeout bounds the calls that complete an id: a shell waits
// for them at every tab.
const completionTimeout = time.Second

// completion adds cobra's completion and help commands to root and marks
// them offline.
func completion(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	for _, cmd := range root.Commands() {
		if cmd.Name() == "completion" || cmd.Name() == "help" {
			offline(cmd)
		}
	}
}

// completeIDs sets the completion of the first argument of every command
// under root whose usage starts with RUN_ID or SWEEP_ID to the ids the
// coordinator lists.
func (c *client) completeIDs(root *cobra.Command) {
	for _, cmd := range root.Commands() {
		c.completeIDs(cmd)
		if cmd.ValidArgsFunction != nil {
			continue
		}
		fields := strings.Fields(cmd.Use)
		if len(fields) < 2 {
			continue
		}
		switch fields[1] {
		case "RUN_ID":
			cmd.ValidArgsFunction = c.completeRuns
		case "SWEEP_ID":
			cmd.ValidArgsFunction = c.completeSweeps
		}
	}
}

// completeRuns offers the run ids, each described by its state.
func (c *client) completeRuns(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var ids []cobra.Completion
	if len(args) == 0 {
		c.completing(cmd, func(ctx context.Context) {
			resp, _ := c.runs.ListRuns(ctx, &pb.ListRunsRequest{}) // no coordinator, no completions
			for _, r := range resp.GetRuns() {
				ids = append(ids, cobra.CompletionWithDesc(r.GetRunId(), render.State(r.GetState())))
			}
		})
	}
	return ids, cobra.ShellCompDirectiveNoFileComp
}

// completeSweeps offers the sweep ids, each described by its state.
func (c *client) completeSweeps(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var ids []cobra.Completion
	if len(args) == 0 {
		c.completing(cmd, func(ctx context.Context) {
			resp, _ := c.runs.ListSweeps(ctx, &pb.ListSweepsRequest{}) // no coordinator, no completions
			for _, s := range resp.GetSweeps() {
				ids = append(ids, cobra.CompletionWithDesc(s.GetSweepId(), render.State(s.GetState())))
			}
		})
	}
	return ids, cobra.ShellCompDirectiveNoFileComp
}

// completing connects as prepare would, within completionTimeout (or
// --timeout if shorter), and calls f; any failure is silent: a shell
// prints no error at a tab, it just offers nothing.
func (c *client) completing(cmd *cobra.Command, f func(ctx context.Context)) {
	if c.timeout <= 0 || c.timeout > completionTimeout {
		c.timeout = completionTimeout
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	if c.checkAddresses(cmd) != nil || c.tlsCredentials(io.Discard) != nil || c.connect(ctx) != nil {
		return
	}
	defer c.conn.Close()
	ctx, cancel := c.call(ctx)
	defer cancel()
	f(ctx)
}
