package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/proto"

	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// Blob sizes. etcd refuses requests over 1.5 MiB by default
// (--max-request-bytes), and a generation's transaction carries two blobs
// plus small values, so a blob is inlined only up to InlineBlobBytes and
// otherwise written as chunks of ChunkBytes, each in its own request.
const (
	InlineBlobBytes = 256 << 10
	ChunkBytes      = 1 << 20
)

var (
	zenc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	zdec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
	zmu     sync.Mutex // the shared encoder's EncodeAll is safe, the guard keeps memory bounded under bursts
)

// encodeBlob compresses m. When the result exceeds InlineBlobBytes it is
// split into chunks to be stored under chunkPrefix + a content hash + "/";
// the returned Blob then names them and the chunks must be written before it.
func encodeBlob(m proto.Message, chunkPrefix string) (*pb.Blob, [][]byte) {
	raw := []byte(marshal(m))
	zmu.Lock()
	comp := zenc.EncodeAll(raw, nil)
	zmu.Unlock()
	sum := sha256.Sum256(comp)
	b := &pb.Blob{Encoding: pb.BlobEncoding_BLOB_ENCODING_ZSTD, Size: uint64(len(raw)), Sha256: sum[:]}
	if len(comp) <= InlineBlobBytes {
		b.Data = comp
		return b, nil
	}
	var chunks [][]byte
	for lo := 0; lo < len(comp); lo += ChunkBytes {
		chunks = append(chunks, comp[lo:min(lo+ChunkBytes, len(comp))])
	}
	b.Chunks = uint32(len(chunks))
	// Chunk keys are content-addressed, so writing a new version of a blob
	// never touches the chunks an older version (still visible) names.
	b.ChunkPrefix = fmt.Sprintf("%s%x/", chunkPrefix, sum[:6])
	return b, chunks
}

// maxSizeHint bounds the buffer decodeBlob allocates from a blob's declared
// size before decoding; larger blobs grow it as they decode.
const maxSizeHint = 64 << 20

func chunkKey(prefix string, i int) string { return fmt.Sprintf("%s%06d", prefix, i) }

// getFunc reads one key: its value and whether it exists.
type getFunc func(ctx context.Context, key string) ([]byte, bool, error)

// decodeBlob reads a Blob (fetching its chunks through get) into m. Every
// inconsistency is an error naming key, never a panic.
func decodeBlob(ctx context.Context, get getFunc, key string, value []byte, m proto.Message) error {
	var b pb.Blob
	if err := proto.Unmarshal(value, &b); err != nil {
		return fmt.Errorf("etcd: value of %s is corrupt: %w", key, err)
	}
	if b.GetEncoding() != pb.BlobEncoding_BLOB_ENCODING_ZSTD {
		return fmt.Errorf("etcd: value of %s is corrupt or from a newer version: encoding %v, this coordinator reads zstd", key, b.GetEncoding())
	}
	comp := b.GetData()
	if n := b.GetChunks(); n > 0 {
		if len(comp) > 0 || b.GetChunkPrefix() == "" || n > 1<<16 {
			return fmt.Errorf("etcd: value of %s is corrupt: %d chunks under %q with %d inline bytes", key, n, b.GetChunkPrefix(), len(comp))
		}
		var buf bytes.Buffer
		for i := range int(n) {
			ck := chunkKey(b.GetChunkPrefix(), i)
			v, ok, err := get(ctx, ck)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("etcd: value of %s is corrupt: chunk %s is missing", key, ck)
			}
			buf.Write(v)
		}
		comp = buf.Bytes()
	}
	if sum := sha256.Sum256(comp); !bytes.Equal(sum[:], b.GetSha256()) {
		return fmt.Errorf("etcd: value of %s is corrupt: checksum mismatch", key)
	}
	if b.GetSize() > 1<<30 {
		return fmt.Errorf("etcd: value of %s is corrupt: declared size %d", key, b.GetSize())
	}
	// The declared size is a hint until the data confirms it: a corrupt
	// size must not allocate a gigabyte up front.
	raw, err := zdec.DecodeAll(comp, make([]byte, 0, min(b.GetSize(), maxSizeHint)))
	if err != nil {
		return fmt.Errorf("etcd: value of %s is corrupt: %w", key, err)
	}
	if uint64(len(raw)) != b.GetSize() {
		return fmt.Errorf("etcd: value of %s is corrupt: %d bytes decoded, %d declared", key, len(raw), b.GetSize())
	}
	if err := proto.Unmarshal(raw, m); err != nil {
		return fmt.Errorf("etcd: value of %s is corrupt: %w", key, err)
	}
	return nil
}
