package persist

import (
	"fmt"
	"strings"
	"testing"

	"github.com/paysandbox/sandbox/emulators/internal/store"
)

type thing struct {
	Name    string
	History []string
}

func TestBindingWritesThroughAndRestoresInOrder(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	tab := store.New[int64, thing](nil)
	b := Bind("things", tab, IntKeys[thing]())
	if n, err := b.Restore(s); n != 0 || err != nil {
		t.Fatal(n, err)
	}
	var fails []error
	b.Attach(s, func(err error) { fails = append(fails, err) })
	for i := range int64(5) {
		tab.Insert(10-i, thing{Name: fmt.Sprint("t", i)})
	}
	tab.Update(9, func(v *thing) error { v.History = append(v.History, "paid"); return nil })
	tab.Delete(8)
	s.Close()

	s = openT(t, dir)
	back := store.New[int64, thing](nil)
	back.SetLimit(3, nil) // max_objects lowered since: the oldest go, on disk too
	if n, err := Bind("things", back, IntKeys[thing]()).Restore(s); n != 3 || err != nil {
		t.Fatal(n, err)
	}
	var got []string
	back.Scan(false, func(k int64, v thing) bool { got = append(got, fmt.Sprintln(k, v.Name, v.History)); return true })
	if want := "[9 t1 [paid]\n 7 t3 []\n 6 t4 []\n]"; fmt.Sprint(got) != want {
		t.Fatalf("restored %v, want %s", got, want)
	}
	if rs, _ := s.Records("things"); len(rs) != 3 {
		t.Fatalf("%d records on disk after restoring into a table of 3", len(rs))
	}
	if len(fails) > 0 {
		t.Fatal(fails)
	}
}

func TestBindingReportsUndecodableRecords(t *testing.T) {
	s := openT(t, t.TempDir())
	put(t, s, "things", map[string]string{"x": `{"Name":1}`})
	if _, err := Bind("things", store.New[string, thing](nil), StringKeys[thing]()).Restore(s); err == nil {
		t.Fatal("a record of the wrong shape was restored")
	}
}

// packedThings is a codec with a binary form: the name's length, the name,
// then the history, one line each.
func packedThings() Codec[string, thing] {
	c := StringKeys[thing]()
	c.Pack = func(b []byte, v thing) ([]byte, error) {
		if len(v.Name) > 255 {
			return nil, fmt.Errorf("a name of %d bytes", len(v.Name))
		}
		b = append(b, byte(len(v.Name)))
		b = append(b, v.Name...)
		for _, h := range v.History {
			b = append(append(b, h...), '\n')
		}
		return b, nil
	}
	c.Unpack = func(b []byte) (thing, error) {
		if len(b) == 0 || int(b[0]) > len(b)-1 {
			return thing{}, fmt.Errorf("a packed thing of %d bytes is cut short", len(b))
		}
		v := thing{Name: string(b[1 : 1+b[0]])}
		for _, h := range strings.SplitAfter(string(b[1+b[0]:]), "\n") {
			if h != "" {
				v.History = append(v.History, strings.TrimSuffix(h, "\n"))
			}
		}
		return v, nil
	}
	return c
}

func TestPackedBindingStoresItsFormAndReadsJSONToo(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	// A record written as JSON (before the codec packed, or by an import)
	// sits next to the packed ones.
	put(t, s, "things", map[string]string{"old": `{"Name":"from json","History":["a"]}`})
	tab := store.New[string, thing](nil)
	b := Bind("things", tab, packedThings())
	if n, err := b.Restore(s); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	b.Attach(s, func(err error) { t.Error(err) })
	tab.Insert("new", thing{Name: "packed", History: []string{"x", "y"}})
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	raw, err := s.stored("things")
	if err != nil || len(raw) != 2 {
		t.Fatal(raw, err)
	}
	if v := raw[1].Value; v[0] != PackedMark || string(v[1:]) != "\x06packedx\ny\n" {
		t.Fatalf("the packed record is %q", v)
	}
	if _, err := s.Records("things"); err == nil {
		t.Fatal("Records (JSON only) read a packed value")
	}
	if _, err := s.Export(nil); err == nil {
		t.Fatal("a packed value was exported without its form")
	}
	doc, err := s.Export(map[string]Form{"things": b.Form()})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%s %s", doc.Buckets["things"][0].Value, doc.Buckets["things"][1].Value)
	if want := `{"Name":"from json","History":["a"]} {"Name":"packed","History":["x","y"]}`; got != want {
		t.Fatalf("exported %s, want %s", got, want)
	}
	s.Close()

	s = openT(t, dir)
	back := store.New[string, thing](nil)
	if n, err := Bind("things", back, packedThings()).Restore(s); n != 2 || err != nil {
		t.Fatal(n, err)
	}
	if v, _ := back.Get("new"); fmt.Sprint(v) != "{packed [x y]}" {
		t.Fatalf("restored %v", v)
	}
	// A JSON-only binding of the same bucket (an older sandbox's codec)
	// refuses the packed value instead of misreading it.
	if _, err := Bind("things", store.New[string, thing](nil), StringKeys[thing]()).Restore(s); err == nil || !strings.Contains(err.Error(), "packed") {
		t.Fatalf("a JSON binding restored a packed value: %v", err)
	}
	// A damaged packed value stops the restore with the file's name.
	put(t, s, "things", map[string]string{"bad": "\x01\x09ab"})
	if _, err := Bind("things", store.New[string, thing](nil), packedThings()).Restore(s); err == nil || !strings.Contains(err.Error(), "cut short") {
		t.Fatalf("a damaged packed value was restored: %v", err)
	}
}

func TestEmpty(t *testing.T) {
	s := openT(t, t.TempDir())
	if e, err := s.Empty(); !e || err != nil {
		t.Fatal(e, err)
	}
	put(t, s, "things", map[string]string{"x": `1`})
	if e, err := s.Empty(); e || err != nil {
		t.Fatal("a store with a record is empty", err)
	}
	s.Write("things", []string{"x"}, func(string) ([]byte, bool, error) { return nil, false, nil })
	if e, err := s.Empty(); !e || err != nil {
		t.Fatal("a store whose only record was deleted is not empty", err)
	}
	if err := s.SetMeta("clock", 5); err != nil {
		t.Fatal(err)
	}
	if e, err := s.Empty(); e || err != nil {
		t.Fatal("a store with a sandbox-wide value is empty", err)
	}
}

func TestPackFailureIsReported(t *testing.T) {
	s := openT(t, t.TempDir())
	tab := store.New[string, thing](nil)
	b := Bind("things", tab, packedThings())
	var fails []error
	b.Attach(s, func(err error) { fails = append(fails, err) })
	tab.Insert("long", thing{Name: strings.Repeat("n", 300)})
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if len(fails) != 1 || !strings.Contains(fails[0].Error(), "things: long: a name of 300 bytes") {
		t.Fatalf("failures %v", fails)
	}
	if e, _ := s.Empty(); !e {
		t.Fatal("a value that failed to pack was written")
	}
}
