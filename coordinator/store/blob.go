package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"unsafe"

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
	zenc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	zdec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
	zmu     sync.Mutex // the shared encoder's EncodeAll is safe, the guard keeps memory bounded under bursts
)

// Compression is kept only where it pays. Measured on the commit benchmark
// (mixedCheckpoint, 10,000 genomes): zstd saves nothing on a checkpoint's
// float weights (20.7 MB in, 20.7 MB out, 87 ms at ~240 MB/s) and two thirds
// of a lineage batch's repetitive fields (1.1 MB to 0.39 MB in 4.5 ms at its
// fastest level, which compresses these as well as the default level at
// 1.7× the speed). Encoding takes about as long as etcd takes to write the
// same bytes, so a blob is compressed only when a sample of it shrinks by
// at least minSaving; otherwise it is stored in raw zstd blocks.
const (
	minSaving   = 0.10
	sampleBytes = 64 << 10 // compressed to decide: 4 windows spread over the blob
)

// maxRawBlock is the largest raw block of a zstd frame (RFC 8878
// Block_Maximum_Size with the 128 KiB window appendRawFrame declares).
const maxRawBlock = 128 << 10

// appendRawFrame appends to dst a zstd frame (RFC 8878 section 3.1.1) that
// holds src uncompressed, in raw blocks. Every zstd decoder reads it, so
// such blobs keep BLOB_ENCODING_ZSTD and older coordinators read them; it
// costs one copy. The header declares the content size, a 128 KiB window
// and no checksum (the Blob carries a SHA-256).
func appendRawFrame(dst, src []byte) []byte {
	blocks := max(1, (len(src)+maxRawBlock-1)/maxRawBlock)
	dst = slices.Grow(dst, 14+3*blocks+len(src))
	dst = append(dst, 0x28, 0xb5, 0x2f, 0xfd) // magic number 0xFD2FB528
	// Frame_Header_Descriptor: 8-byte Frame_Content_Size, not single
	// segment, no checksum, no dictionary; Window_Descriptor: 2^17 bytes.
	dst = append(dst, 0xc0, 0x38)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(len(src)))
	for {
		n := min(len(src), maxRawBlock)
		h := uint32(n) << 3 // Block_Type 0: raw
		last := n == len(src)
		if last {
			h |= 1 // Last_Block
		}
		dst = append(dst, byte(h), byte(h>>8), byte(h>>16))
		dst = append(dst, src[:n]...)
		src = src[n:]
		if last {
			return dst
		}
	}
}

// worthCompressing reports whether compressing raw saves at least
// minSaving, judged from at most sampleBytes of it: all of a small blob,
// otherwise 4 windows spread over it. scratch is a reusable buffer.
func worthCompressing(raw []byte, scratch *[]byte) bool {
	// Room for the sample and its compressed form, which zstd bounds
	// slightly above the input's size.
	buf := slices.Grow((*scratch)[:0], 2*sampleBytes+4<<10)
	*scratch = buf
	sample := raw
	if len(raw) > sampleBytes {
		const w = sampleBytes / 4
		for i := range 4 {
			at := i * (len(raw) - w) / 3
			buf = append(buf, raw[at:at+w]...)
		}
		sample = buf
	}
	zmu.Lock()
	out := zenc.EncodeAll(sample, buf[len(buf):])
	zmu.Unlock()
	return float64(len(out)) <= (1-minSaving)*float64(len(sample))
}

// bufList keeps encodeBlob's buffers between commits: a large
// checkpoint's are megabytes and a run writes one every generation. It is
// a free list rather than a sync.Pool, which every garbage collection
// empties (and a commit of a large population triggers several); one list
// per kind of blob, so a checkpoint's buffers serve the next checkpoint.
// It holds at most cap(l) sets, each about twice the largest blob encoded.
type bufList chan *blobBuf

var (
	checkpointBufs = make(bufList, 2)
	lineageBufs    = make(bufList, 2)
)

type blobBuf struct {
	raw, out, scratch, value []byte
	home                     bufList
}

func (l bufList) get() *blobBuf {
	select {
	case b := <-l:
		return b
	default:
		return &blobBuf{home: l}
	}
}

// encodedBlob is a message encoded for etcd: the Blob that stands for it,
// its encoding (value, the etcd value) and, when it is chunked, the chunks
// to write before it. value, the Blob's inline data and the chunks live in
// reused buffers and stay valid until release. clientv3.OpPut copies the
// value it is given, so release may follow the OpPut calls at once.
type encodedBlob struct {
	blob   *pb.Blob
	value  string
	chunks []string
	buf    *blobBuf
}

// release returns e's buffers to the pool; e must not be used afterwards.
func (e *encodedBlob) release() {
	if e.buf == nil {
		return
	}
	select {
	case e.buf.home <- e.buf:
	default:
	}
	e.buf, e.blob, e.chunks = nil, nil, nil
}

// encodeBlob encodes m, compressed when that pays (see minSaving) and
// otherwise as a raw zstd frame, in buffers from bufs. When the result exceeds InlineBlobBytes it
// is split into chunks to be stored under chunkPrefix + a content hash +
// "/"; the Blob then names them and the chunks must be written before it.
func encodeBlob(m proto.Message, chunkPrefix string, bufs bufList) *encodedBlob {
	buf := bufs.get()
	raw, err := proto.MarshalOptions{Deterministic: true}.MarshalAppend(buf.raw[:0], m)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", m, err)) // only for messages that cannot fail
	}
	buf.raw = raw
	comp := buf.out[:0]
	if worthCompressing(raw, &buf.scratch) {
		zmu.Lock()
		comp = zenc.EncodeAll(raw, comp)
		zmu.Unlock()
	}
	if len(comp) == 0 || len(comp) >= len(raw) {
		comp = appendRawFrame(comp[:0], raw)
	}
	buf.out = comp
	sum := sha256.Sum256(comp)
	e := &encodedBlob{buf: buf, blob: &pb.Blob{Encoding: pb.BlobEncoding_BLOB_ENCODING_ZSTD, Size: uint64(len(raw)), Sha256: sum[:]}}
	if len(comp) <= InlineBlobBytes {
		e.blob.Data = comp
	} else {
		for lo := 0; lo < len(comp); lo += ChunkBytes {
			e.chunks = append(e.chunks, unsafeString(comp[lo:min(lo+ChunkBytes, len(comp))]))
		}
		e.blob.Chunks = uint32(len(e.chunks))
		// Chunk keys are content-addressed, so writing a new version of a
		// blob never touches the chunks an older version (still visible) names.
		e.blob.ChunkPrefix = fmt.Sprintf("%s%x/", chunkPrefix, sum[:6])
	}
	if buf.value, err = (proto.MarshalOptions{Deterministic: true}).MarshalAppend(buf.value[:0], e.blob); err != nil {
		panic(fmt.Sprintf("marshal blob: %v", err)) // a Blob cannot fail
	}
	e.value = unsafeString(buf.value)
	return e
}

// unsafeString views b as a string without copying it; b must not change
// while the string is in use.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

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
