package persist

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
)

// copyDir copies the store's files as they are on disk now, as kill -9
// would leave them: the copy is opened without the original being closed.
func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	for _, name := range append([]string{FileName}, WALNames[:]...) {
		b, err := os.ReadFile(filepath.Join(from, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// records is recordList joined by spaces.
func records(t *testing.T, s *Store, bucket string) string {
	t.Helper()
	return strings.Join(recordList(t, s, bucket), " ")
}

// TestLogReplaysWritesNotYetInStateDB: a write is durable once Write
// returns, in the log; a copy of the directory taken then (the store
// still open, nothing checkpointed) opens with it, in order.
func TestLogReplaysWritesNotYetInStateDB(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	put(t, s, "t", map[string]string{"a": `1`})
	put(t, s, "t", map[string]string{"b": `2`})
	put(t, s, "t", map[string]string{"a": `3`})
	if err := s.SetMeta("m", "x"); err != nil {
		t.Fatal(err)
	}
	if len(s.pending) == 0 {
		t.Fatal("the writes were checkpointed already: this test no longer covers the log")
	}
	c := openT(t, copyDir(t, dir))
	if got := records(t, c, "t"); got != "a=3 b=2" {
		t.Fatalf("replayed records = %q, want a=3 b=2", got)
	}
	var m string
	if ok, err := c.Meta("m", &m); !ok || err != nil || m != "x" {
		t.Fatalf("meta = %q %v %v", m, ok, err)
	}
}

// TestLogStaleFramesAreNotReplayed: after checkpoints, the segments still
// hold older frames; they must not come back over newer state.
func TestLogStaleFramesAreNotReplayed(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	put(t, s, "t", map[string]string{"a": `1`, "b": `1`})
	records(t, s, "t") // a read checkpoints: the frames above are now stale
	put(t, s, "t", map[string]string{"a": ""})
	records(t, s, "t")
	put(t, s, "t", map[string]string{"b": `2`}) // in the log only
	c := openT(t, copyDir(t, dir))
	if got := records(t, c, "t"); got != "b=2" {
		t.Fatalf("records = %q, want b=2 (a deleted, b updated)", got)
	}
}

// TestLogTornTailIsDropped: a frame cut short (the sandbox stopped while
// writing it; its writers were never answered) ends the log; the frames
// before it are kept.
func TestLogTornTailIsDropped(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	put(t, s, "t", map[string]string{"a": `1`})
	d := copyDir(t, dir)
	seg := filepath.Join(d, WALNames[s.cur])
	b, _ := os.ReadFile(seg)
	torn := frame(s.gen, appendOp(nil, op{bucket: "t", key: "z", value: []byte(`9`)}))
	copy(b[s.walOff:], torn[:len(torn)-3])
	os.WriteFile(seg, b, 0o600)
	c := openT(t, d)
	if got := records(t, c, "t"); got != "a=1" {
		t.Fatalf("records = %q, want a=1", got)
	}
}

// TestCheckpointsKeepOrderAcrossSegments writes past several checkpoints
// (both segments used twice) and reopens a copy.
func TestCheckpointsKeepOrderAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	n := checkpointMaxPending*2 + 100
	for i := 0; i < n; i += 1000 {
		kv := map[string]string{}
		for j := i; j < min(i+1000, n); j++ {
			kv[fmt.Sprintf("k%06d", j)] = fmt.Sprint(j)
		}
		put(t, s, "t", kv)
	}
	c := openT(t, copyDir(t, dir))
	rs, err := c.Records("t")
	if err != nil || len(rs) != n {
		t.Fatalf("%d records, %v; want %d", len(rs), err, n)
	}
}

// TestFailedWriteIsReportedAndSticky: a write that cannot reach the disk
// fails with a message naming the data directory, Sync reports it, and
// every later write fails too.
func TestFailedWriteIsReportedAndSticky(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	put(t, s, "t", map[string]string{"a": `1`})
	if err := s.Sync(); err != nil {
		t.Fatalf("Sync before a failure = %v", err)
	}
	s.FailWrites(errors.New("no space left on device"))
	err := s.Write("t", []string{"b"}, func(string) ([]byte, bool, error) { return []byte(`2`), true, nil })
	if !errors.Is(err, ErrWriteFailed) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("err = %v", err)
	}
	if err := s.Sync(); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("Sync after a failure = %v", err)
	}
	s.FailWrites(nil)
	var failed atomic.Value
	s.WriteAsync("t", []string{"c"}, func(string) ([]byte, bool, error) { return []byte(`3`), true, nil }, func(err error) { failed.Store(err) })
	if err := s.Sync(); !errors.Is(err, ErrWriteFailed) || failed.Load() == nil {
		t.Fatalf("a write after the failure: Sync = %v, fail got %v", err, failed.Load())
	}
	s.Close()
	c := openT(t, dir)
	if got := records(t, c, "t"); got != "a=1" {
		t.Fatalf("records = %q, want a=1", got)
	}
}

func FuzzReadFrames(f *testing.F) {
	f.Add(frame(1, appendOp(appendOp(nil, op{bucket: "t", key: "k", value: []byte(`{}`)}), op{bucket: "t", key: "d", del: true})))
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0}, 64))
	f.Fuzz(func(t *testing.T, data []byte) {
		frames, end := readFrames(data)
		if end < 0 || end > int64(len(data)) {
			t.Fatalf("end %d outside 0..%d", end, len(data))
		}
		// What was read back encodes to frames that read back the same.
		var again []byte
		for _, fr := range frames {
			var p []byte
			for _, o := range fr.ops {
				p = appendOp(p, o)
			}
			again = append(again, frame(fr.gen, p)...)
		}
		back, bend := readFrames(again)
		if bend != int64(len(again)) || !reflect.DeepEqual(back, frames) {
			t.Fatalf("frames %+v read back as %+v", frames, back)
		}
	})
}

func FuzzDecodeOps(f *testing.F) {
	f.Add(appendOp(nil, op{bucket: "t", key: "k", value: []byte(`{"a":1}`)}))
	f.Add([]byte{1, 't', 0, 3})
	f.Fuzz(func(t *testing.T, p []byte) {
		ops, err := decodeOps(p)
		if err != nil {
			return
		}
		// Lengths may be written in more bytes than needed; what they
		// say survives encoding again.
		var again []byte
		for _, o := range ops {
			again = appendOp(again, o)
		}
		back, err := decodeOps(again)
		if err != nil || !reflect.DeepEqual(back, ops) {
			t.Fatalf("ops %+v encode to %q, which decodes to %+v, %v", ops, again, back, err)
		}
	})
}

// BenchmarkWrite is the store's write path: one record per write, written
// by one writer (every write waits for its own fsync) or by 32 writers per
// CPU (group commit).
//
//	go test -run=^$ -bench=Write -benchmem ./emulators/internal/persist/
func BenchmarkWrite(b *testing.B) {
	value := []byte(`{"payment_id":"` + strings.Repeat("x", 300) + `"}`)
	for _, mode := range []string{"serial", "parallel"} {
		b.Run(mode, func(b *testing.B) {
			s, err := Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var n atomic.Int64
			write := func() {
				k := fmt.Sprint("p", n.Add(1))
				if err := s.Write("t", []string{k}, func(string) ([]byte, bool, error) { return value, true, nil }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			if mode == "serial" {
				for b.Loop() {
					write()
				}
				return
			}
			b.SetParallelism(32)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					write()
				}
			})
		})
	}
}

// A small batch goes to a checkpoint only when none runs; while one runs
// the batch grows to the hard bounds, where it goes in any case.
func TestCheckpointDue(t *testing.T) {
	running := make(chan error, 1)
	finished := make(chan error, 1)
	finished <- nil
	for _, c := range []struct {
		name    string
		pending int
		walOff  int64
		ck      chan error
		want    bool
	}{
		{"below the batch", checkpointPending - 1, 0, nil, false},
		{"a batch, none running", checkpointPending, 0, nil, true},
		{"a batch, one running", checkpointPending, 0, running, false},
		{"a batch, one finished", checkpointPending, 0, finished, true},
		{"below the hard bound, one running", checkpointMaxPending - 1, 0, running, false},
		{"the hard bound, one running", checkpointMaxPending, 0, running, true},
		{"the byte bound, one running", 1, checkpointBytes, running, true},
	} {
		s := &Store{pending: make([]op, c.pending), walOff: c.walOff, ckDone: c.ck}
		if got := s.checkpointDue(); got != c.want {
			t.Errorf("%s: checkpointDue = %v, want %v", c.name, got, c.want)
		}
	}
}
