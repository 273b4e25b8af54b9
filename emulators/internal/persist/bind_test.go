package persist

import (
	"fmt"
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
