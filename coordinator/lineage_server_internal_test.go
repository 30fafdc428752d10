package coordinator

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mesaopt/mesaopt/lineage"
	pb "github.com/mesaopt/mesaopt/proto/mesaopt/v1"
)

// A client that reads more slowly than generations arrive gets a clear
// RESOURCE_EXHAUSTED error naming where to resume, and the producer is not
// left buffering.
func TestPumpFallingBehind(t *testing.T) {
	release := make(chan struct{})
	sent := 0
	err := pump(context.Background(), 3, 0, func(ctx context.Context, f feed) error {
		for g := uint32(0); g < 100; g++ {
			if !f.live(&pb.GenerationStats{Generation: g}) {
				close(release)
				return nil
			}
		}
		t.Error("the producer pushed 100 generations into a buffer of 3")
		return nil
	}, func(st *pb.GenerationStats) error {
		if sent == 0 {
			<-release // the client stalls on its first message
		}
		sent++
		return nil
	})
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "from_generation = ") {
		t.Fatalf("pump = %v, want ResourceExhausted naming from_generation", err)
	}
}

// The stored history a watch starts with is replayed whole, however much
// longer than the buffer and however slow the client: only live
// generations can leave a client behind.
func TestPumpReplaysStoredHistory(t *testing.T) {
	var got []uint32
	caughtUp := make(chan struct{})
	err := pump(context.Background(), 3, 0, func(ctx context.Context, f feed) error {
		for g := uint32(0); g < 100; g++ {
			if !f.stored(&pb.GenerationStats{Generation: g}) {
				t.Errorf("stored generation %d refused", g)
				return nil
			}
		}
		<-caughtUp // the next generation commits after the client caught up
		f.live(&pb.GenerationStats{Generation: 100})
		return nil
	}, func(st *pb.GenerationStats) error {
		time.Sleep(time.Millisecond) // a client slower than the replay
		got = append(got, st.GetGeneration())
		if st.GetGeneration() == 99 {
			close(caughtUp)
		}
		return nil
	})
	if err != nil || len(got) != 101 || got[100] != 100 {
		t.Fatalf("pump = %v after %d generations", err, len(got))
	}
}

func TestPumpDelivers(t *testing.T) {
	var got []uint32
	err := pump(context.Background(), 2, 0, func(ctx context.Context, f feed) error {
		for g := uint32(0); g < 2; g++ {
			f.live(&pb.GenerationStats{Generation: g})
		}
		return nil
	}, func(st *pb.GenerationStats) error {
		got = append(got, st.GetGeneration())
		return nil
	})
	if err != nil || len(got) != 2 {
		t.Fatalf("pump = %v, sent %v", err, got)
	}
	boom := errors.New("send failed")
	err = pump(context.Background(), 2, 0, func(ctx context.Context, f feed) error {
		for g := uint32(0); ctx.Err() == nil && g < 1000; g++ {
			f.live(&pb.GenerationStats{Generation: g})
		}
		return nil
	}, func(*pb.GenerationStats) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("pump with a failing send = %v", err)
	}
}

func TestPageToken(t *testing.T) {
	f := lineage.DefaultFilter()
	tok := pageToken(200, f)
	if n, err := parseToken(tok, f); err != nil || n != 200 {
		t.Fatalf("parseToken(pageToken(200)) = %d, %v", n, err)
	}
	g := f
	g.Condition = "shifted"
	for _, bad := range []string{"x", "12", tok[:len(tok)-1], pageToken(5, g)} {
		if _, err := parseToken(bad, f); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "page_token") {
			t.Errorf("parseToken(%q) = %v, want InvalidArgument naming page_token", bad, err)
		}
	}
}

func TestChunkWriter(t *testing.T) {
	var chunks [][]byte
	w := &chunkWriter{send: func(b []byte) error { chunks = append(chunks, b); return nil }}
	data := strings.Repeat("x", 2*exportChunk+10)
	if n, err := w.Write([]byte(data)); err != nil || n != len(data) {
		t.Fatal(n, err)
	}
	if err := w.flush(); err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 3 || len(chunks[0]) != exportChunk || len(chunks[2]) != 10 {
		t.Fatalf("chunks of %d, %d, ... bytes", len(chunks[0]), len(chunks))
	}
}
