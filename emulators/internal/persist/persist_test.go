package persist

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func openT(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// put writes kv in one call, its keys in sorted order so that insertion
// order (which Records keeps) does not depend on map iteration.
func put(t *testing.T, s *Store, bucket string, kv map[string]string) {
	t.Helper()
	keys := slices.Sorted(maps.Keys(kv))
	if err := s.Write(bucket, keys, func(k string) ([]byte, bool, error) {
		v, ok := kv[k]
		return []byte(v), ok && v != "", nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestWriteReopenKeepsRecordsInInsertionOrder(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	for _, k := range []string{"zz", "aa", "mm"} {
		put(t, s, "t", map[string]string{k: `{"id":"` + k + `"}`})
	}
	put(t, s, "t", map[string]string{"zz": `{"id":"zz","v":2}`}) // an update keeps its place
	put(t, s, "t", map[string]string{"aa": ""})                  // a delete
	if err := s.SetMeta("clock_offset", int64(42)); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openT(t, dir)
	got := recordList(t, s, "t")
	want := []string{`zz={"id":"zz","v":2}`, `mm={"id":"mm"}`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("records = %v, want %v", got, want)
	}
	var off int64
	if ok, err := s.Meta("clock_offset", &off); !ok || err != nil || off != 42 {
		t.Fatalf("meta = %d %v %v", off, ok, err)
	}
}

func TestConcurrentWritersShareBatches(t *testing.T) {
	s := openT(t, t.TempDir())
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() { put(t, s, "t", map[string]string{fmt.Sprint("k", i): fmt.Sprint(i)}) })
	}
	wg.Wait()
	rs, _ := s.Records("t")
	if len(rs) != 50 {
		t.Fatalf("%d records after 50 concurrent writes", len(rs))
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	put(t, s, "t", map[string]string{"k": `1`})
	s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(metaBucket).Put(versionKey, []byte("99")) })
	s.Close()
	before, _ := os.ReadFile(Path(dir))
	_, err := Open(dir)
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "schema version 99") || !strings.Contains(err.Error(), "reads up to 2") {
		t.Fatalf("err = %v", err)
	}
	if after, _ := os.ReadFile(Path(dir)); !bytes.Equal(before, after) {
		t.Fatal("a refused store was modified")
	}
}

// A store of version 1 (every value JSON) opens as it is and is marked
// version 2 (values may be packed), so that a sandbox that reads only 1
// refuses it rather than take a packed value for damage.
func TestVersionOneStoreIsUpgraded(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	put(t, s, "t", map[string]string{"k": `{"v":1}`})
	s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(metaBucket).Put(versionKey, []byte("1")) })
	s.Close()
	s = openT(t, dir)
	var v []byte
	s.db.View(func(tx *bolt.Tx) error { v = bytes.Clone(tx.Bucket(metaBucket).Get(versionKey)); return nil })
	if string(v) != "2" {
		t.Fatalf("schema version after opening a version 1 store: %q", v)
	}
	if rs, err := s.Records("t"); err != nil || len(rs) != 1 || string(rs[0].Value) != `{"v":1}` {
		t.Fatalf("records of the upgraded store: %v %v", rs, err)
	}
	if doc, err := s.Export(nil); err != nil || doc.SchemaVersion != 1 {
		t.Fatalf("the export document's version is %d (%v), want 1: its values are JSON as before", doc.SchemaVersion, err)
	}
}

// TestDamagedFilesAreReportedNotEmptied writes bad files where the store
// belongs: each is refused with a message naming the file, and left as it
// was.
func TestDamagedFilesAreReportedNotEmptied(t *testing.T) {
	good := func(t *testing.T) []byte {
		dir := t.TempDir()
		s := openT(t, dir)
		kv := map[string]string{}
		for i := range 300 {
			kv[fmt.Sprint("key", i)] = fmt.Sprintf(`{"v":%q}`, strings.Repeat("x", 200))
		}
		put(t, s, "t", kv)
		s.Close()
		b, err := os.ReadFile(Path(dir))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}(t)
	cases := map[string][]byte{
		"empty":          {},
		"garbage":        bytes.Repeat([]byte("not a database "), 1000),
		"truncated":      good[:40000], // the records need about 70 kB of pages
		"truncated meta": good[:100],
		"zeroed meta": func() []byte {
			b := bytes.Clone(good)
			clear(b[:8192]) // both meta pages
			return b
		}(),
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(Path(dir), content, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(dir)
			if err == nil {
				s.Close()
				t.Fatal("a damaged store was opened")
			}
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), Path(dir)) || !strings.Contains(err.Error(), "left as it is") {
				t.Fatalf("err = %v", err)
			}
			if after, _ := os.ReadFile(Path(dir)); !bytes.Equal(after, content) {
				t.Fatal("the damaged file was modified")
			}
		})
	}
}

func TestSecondOpenIsRefusedWhileInUse(t *testing.T) {
	dir := t.TempDir()
	openT(t, dir)
	if _, err := Open(dir); !errors.Is(err, ErrInUse) {
		t.Fatalf("err = %v", err)
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	a := openT(t, t.TempDir())
	put(t, a, "khipu.payments", map[string]string{"p1": `{"ID":"p1"}`})
	put(t, a, "khipu.payments", map[string]string{"p2": `{"ID":"p2"}`})
	a.SetMeta("clock_offset", 7)
	doc, err := a.Export(nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(doc)
	back, err := DecodeDocument(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	b := openT(t, t.TempDir())
	put(t, b, "stale", map[string]string{"x": `1`})
	if err := b.Import(back); err != nil {
		t.Fatal(err)
	}
	doc2, _ := b.Export(nil)
	raw2, _ := json.Marshal(doc2)
	if !bytes.Equal(raw, raw2) {
		t.Fatalf("export after import differs:\n%s\n%s", raw, raw2)
	}
}

func TestDecodeDocumentRefusals(t *testing.T) {
	for name, in := range map[string]string{
		"not json":       `{`,
		"other format":   `{"format":"x","schema_version":1}`,
		"newer":          `{"format":"paysandbox-state","schema_version":2}`,
		"repeated key":   `{"format":"paysandbox-state","schema_version":1,"buckets":{"t":[{"key":"a","value":1},{"key":"a","value":2}]}}`,
		"reserved":       `{"format":"paysandbox-state","schema_version":1,"buckets":{"meta":[]}}`,
		"reserved meta":  `{"format":"paysandbox-state","schema_version":1,"meta":{"schema_version":1}}`,
		"missing values": `{"format":"paysandbox-state","schema_version":1,"buckets":{"t":[{"key":"a"}]}}`,
	} {
		if _, err := DecodeDocument(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzDecodeDocument(f *testing.F) {
	f.Add([]byte(`{"format":"paysandbox-state","schema_version":1,"meta":{"a":1},"buckets":{"t":[{"key":"a","seq":1,"value":{}}]}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		doc, err := DecodeDocument(bytes.NewReader(in))
		if err != nil {
			return
		}
		if doc.Format != DocumentFormat {
			t.Fatal("accepted another format")
		}
		for _, rs := range doc.Buckets {
			for _, r := range rs {
				if !json.Valid(r.Value) {
					t.Fatal("accepted a value that is not JSON")
				}
			}
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord("abc", []byte(`{"a":1}`)))
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		key, v, ok := decodeRecord(raw)
		if !ok {
			return
		}
		if len(key)+len(v) > len(raw) {
			t.Fatalf("decoded more than the input: key %d + value %d > %d", len(key), len(v), len(raw))
		}
		if k2, v2, ok2 := decodeRecord(encodeRecord(key, v)); !ok2 || k2 != key || !bytes.Equal(v2, v) {
			t.Fatal("encode(decode(x)) does not decode back")
		}
	})
}

// The key index holds keys by hash; keys whose hashes clash (here all of
// them: a hash of their length) are still told apart, written, updated,
// deleted and found again after a restart, and the index built by the
// restart's scan agrees.
func TestKeyIndexTellsClashingKeysApart(t *testing.T) {
	weakHash = func(k string) uint64 { return uint64(len(k)) }
	defer func() { weakHash = nil }()
	dir := t.TempDir()
	s := openT(t, dir)
	put(t, s, "t", map[string]string{"a1": `1`, "b1": `2`, "c1": `3`, "dd": `4`})
	put(t, s, "t", map[string]string{"b1": `20`, "a1": ``}) // update one, delete the hash's first holder
	if err := s.flush(); err != nil {
		t.Fatal(err)
	}
	put(t, s, "t", map[string]string{"e1": `5`, "c1": `30`})
	if got, want := recordList(t, s, "t"), "[b1=20 c1=30 dd=4 e1=5]"; fmt.Sprint(got) != want {
		t.Fatalf("before the restart: records %v, want %s", got, want)
	}
	s.Close()
	s = openT(t, dir)
	put(t, s, "t", map[string]string{"c1": `300`, "dd": ``})
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if got, want := recordList(t, s, "t"), "[b1=20 c1=300 e1=5]"; fmt.Sprint(got) != want {
		t.Fatalf("after the restart: records %v, want %s", got, want)
	}
}

// recordList is a bucket's records as key=value, in insertion order.
func recordList(t *testing.T, s *Store, bucket string) []string {
	t.Helper()
	rs, err := s.Records(bucket)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.Key+"="+string(r.Value))
	}
	return got
}
