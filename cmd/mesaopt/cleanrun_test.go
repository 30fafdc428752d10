package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mesaopt/mesaopt/coordinator"
	"github.com/mesaopt/mesaopt/coordinator/store"
	"github.com/mesaopt/mesaopt/internal/localetcd"
	"github.com/mesaopt/mesaopt/internal/testenv"
	"github.com/mesaopt/mesaopt/lineage"
)

// TestCleanRunStoresPrunedLineage runs to the end and then reads the data
// directory's etcd: the run logged no ERROR (the last generation's pruning
// used to be cancelled by the shutdown that follows success), and the
// lineage it stored is already pruned — loading it and pruning to the last
// population removes nothing, so etcd holds what the run held.
func TestCleanRunStoresPrunedLineage(t *testing.T) {
	n := newNode(t)
	out := runMesaopt(t, n.args("-f", writeExperiment(t, 6), "--workers", "2")...)
	if strings.Contains(out, "level=ERROR") {
		t.Fatalf("a clean run logged errors:\n%s", out)
	}
	m := runIDRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no run id in output:\n%s", out)
	}
	srv, err := localetcd.Start(localetcd.Config{Dir: filepath.Join(n.data, "etcd"),
		ClientAddr: freeAddr(t), PeerAddr: freeAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	batches, err := store.New(testenv.Client(t, srv.Endpoints()...), "").Lineage(ctx, m[1], ^uint32(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) == 0 {
		t.Fatal("no lineage stored")
	}
	s := lineage.NewStore()
	var last []uint64
	for _, b := range batches {
		last = last[:0]
		for _, in := range b.GetIndividuals() {
			if err := s.Add(coordinator.RecordFromProto(in)); err != nil {
				t.Fatal(err)
			}
			last = append(last, in.GetId())
		}
	}
	pruned, err := s.Prune(last)
	if err != nil {
		t.Fatal(err)
	}
	if pruned.Records > 0 {
		t.Fatalf("etcd holds %d records of generations %v that the run had pruned", pruned.Records, pruned.Generations)
	}
}
