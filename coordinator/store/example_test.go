package store_test

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/mesaopt/mesaopt/coordinator/store"
)

// Reading a run as any etcd client may: every value is a protobuf message
// under the documented key layout, and reads need no leadership.
func Example() {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"127.0.0.1:2379"}, DialTimeout: 5 * time.Second})
	if err != nil {
		panic(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := store.New(cli, store.DefaultPrefix)
	ids, err := s.RunIDs(ctx)
	if err != nil {
		panic(err)
	}
	for _, id := range ids {
		st, err := s.Status(ctx, id)
		if err != nil {
			panic(err)
		}
		fmt.Println(id, st.GetState(), st.GetGenerationsDone())
	}
}
