package store

import (
	"context"
	"crypto/sha256"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// The blob decoder's fuzz target. Its seeds are small on purpose: the
// fuzzer minimizes every input that finds new coverage, at a cost that
// grows with the square of its length, and executions stop while it does
// (a chunk of a real checkpoint as a seed kept the target at 0
// executions/s). Nothing here touches etcd per execution.

// smallBlobs returns a checkpoint encoded inline and the same one split
// into two chunks by hand (encodeBlob chunks only blobs over
// InlineBlobBytes, far too large for a seed).
func smallBlobs() (inline []byte, chunked []byte, chunks [2][]byte) {
	cp := &pb.Checkpoint{FormatVersion: 1, RunId: "f", Generation: 1, NextId: 7,
		Summary: &pb.GenerationSummary{Generation: 1, Digest: "d"}, Population: []*pb.Member{{Id: 3, Fitness: 0.5}}}
	b := encodeBlob(cp, "c/", checkpointBufs).blob
	comp := b.GetData()
	half := len(comp) / 2
	chunks = [2][]byte{comp[:half], comp[half:]}
	sum := sha256.Sum256(comp)
	split := &pb.Blob{Encoding: b.GetEncoding(), Size: b.GetSize(), Sha256: sum[:], Chunks: 2, ChunkPrefix: "c/x/"}
	return []byte(marshal(b)), []byte(marshal(split)), chunks
}

func FuzzDecodeBlob(f *testing.F) {
	inline, chunked, chunks := smallBlobs()
	f.Add(inline, []byte(nil), []byte(nil))
	f.Add(chunked, chunks[0], chunks[1])
	f.Fuzz(func(t *testing.T, value, chunk0, chunk1 []byte) {
		get := func(_ context.Context, key string) ([]byte, bool, error) {
			switch {
			case strings.HasSuffix(key, "000000"):
				return chunk0, true, nil
			case strings.HasSuffix(key, "000001"):
				return chunk1, true, nil
			}
			return nil, false, nil
		}
		var out pb.Checkpoint
		_ = decodeBlob(context.Background(), get, "k", value, &out) // must not panic
	})
}

// TestFuzzSeedsDecode checks that the hand-made seeds are what they claim:
// both decode to the checkpoint, so the fuzzer starts from valid blobs.
func TestFuzzSeedsDecode(t *testing.T) {
	inline, chunked, chunks := smallBlobs()
	get := func(_ context.Context, key string) ([]byte, bool, error) {
		for i, c := range chunks {
			if key == chunkKey("c/x/", i) {
				return c, true, nil
			}
		}
		return nil, false, nil
	}
	for _, v := range [][]byte{inline, chunked} {
		var out pb.Checkpoint
		if err := decodeBlob(context.Background(), get, "k", v, &out); err != nil || out.GetNextId() != 7 {
			t.Fatalf("seed does not decode: %v, %v", err, &out)
		}
	}
	if len(inline) > 512 || len(chunked)+len(chunks[0])+len(chunks[1]) > 512 {
		t.Fatalf("seeds of %d and %d bytes: keep them small (see the comment above FuzzParseSpec)", len(inline), len(chunked))
	}
}

// TestDecodeBlobDeclaredSizeIsAHint checks that a blob whose checksum
// holds but whose declared size is corrupt is refused without allocating
// what it declares (the fuzzer reaches this by mutating the size alone).
func TestDecodeBlobDeclaredSizeIsAHint(t *testing.T) {
	inline, _, _ := smallBlobs()
	var b pb.Blob
	if err := proto.Unmarshal(inline, &b); err != nil {
		t.Fatal(err)
	}
	b.Size = 1 << 30
	value := []byte(marshal(&b))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var out pb.Checkpoint
	err := decodeBlob(context.Background(), nil, "k", value, &out)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "declared") {
		t.Fatalf("corrupt size: %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 256<<20 {
		t.Fatalf("decoding a blob that declares 1 GiB allocated %d MiB", grew>>20)
	}
}
