package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/proto"

	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// TestRawFrameDecodes checks that appendRawFrame writes zstd frames the
// decoder reads back exactly, at block boundaries and around them.
func TestRawFrameDecodes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, maxRawBlock - 1, maxRawBlock, maxRawBlock + 1, 3*maxRawBlock + 17, ChunkBytes + 5} {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(r.Uint32())
		}
		frame := appendRawFrame([]byte("prefix"), src)
		if !bytes.HasPrefix(frame, []byte("prefix")) {
			t.Fatalf("%d bytes: appendRawFrame lost dst's contents", n)
		}
		got, err := zdec.DecodeAll(frame[len("prefix"):], nil)
		if err != nil || !bytes.Equal(got, src) {
			t.Fatalf("%d bytes: decoded %d bytes, err %v", n, len(got), err)
		}
	}
}

// TestEncodeBlobCompressesOnlyWhenItPays checks the choice on the
// benchmark's messages (a checkpoint's float weights stay raw, a lineage
// batch is compressed) and that both decode to the message encoded.
func TestEncodeBlobCompressesOnlyWhenItPays(t *testing.T) {
	cp, batch := mixedCheckpoint("r", 3, 1000)
	for _, tc := range []struct {
		name       string
		m          proto.Message
		compressed bool
	}{{"checkpoint", cp, false}, {"lineage batch", batch, true}} {
		e := encodeBlob(tc.m, "c/", lineageBufs)
		var stored []byte
		for _, c := range e.chunks {
			stored = append(stored, c...)
		}
		raw := len(marshal(tc.m))
		if got := len(stored) < raw*9/10; got != tc.compressed {
			t.Errorf("%s: %d bytes stored for %d raw, want compressed = %v", tc.name, len(stored), raw, tc.compressed)
		}
		chunks := map[string][]byte{}
		for i, c := range e.chunks {
			chunks[chunkKey(e.blob.GetChunkPrefix(), i)] = []byte(c)
		}
		value := []byte(marshal(e.blob))
		e.release()
		get := func(_ context.Context, key string) ([]byte, bool, error) { v, ok := chunks[key]; return v, ok, nil }
		out := tc.m.ProtoReflect().New().Interface()
		if err := decodeBlob(context.Background(), get, "k", value, out); err != nil || !proto.Equal(out, tc.m) {
			t.Fatalf("%s: decoded %v, equal %v", tc.name, err, proto.Equal(out, tc.m))
		}
	}
}

// TestDecodeBlobReadsCompressedBlobs checks that blobs compressed as
// earlier versions wrote them (zstd at its default level, every blob) are
// still read, so stored checkpoints resume.
func TestDecodeBlobReadsCompressedBlobs(t *testing.T) {
	cp, _ := mixedCheckpoint("r", 1, 20)
	raw := []byte(marshal(cp))
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		t.Fatal(err)
	}
	comp := enc.EncodeAll(raw, nil)
	sum := sha256.Sum256(comp)
	blob := &pb.Blob{Encoding: pb.BlobEncoding_BLOB_ENCODING_ZSTD, Size: uint64(len(raw)), Sha256: sum[:], Data: comp}
	var out pb.Checkpoint
	if err := decodeBlob(context.Background(), nil, "k", []byte(marshal(blob)), &out); err != nil || !proto.Equal(&out, cp) {
		t.Fatalf("decodeBlob of a compressed blob: %v, equal %v", err, proto.Equal(&out, cp))
	}
}
