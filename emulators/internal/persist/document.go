package persist

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// DocumentFormat names the export document.
const DocumentFormat = "paysandbox-state"

// DocumentVersion is the version of the export document this sandbox
// writes (its schema_version). It is the store's SchemaVersion of the
// document's first release, and moves only when the document changes:
// every value in it is JSON, whatever form the store keeps.
const DocumentVersion = 1

// Document is a whole state as one JSON document (sandbox export/import).
type Document struct {
	Format        string                     `json:"format"`
	SchemaVersion int                        `json:"schema_version"`
	Meta          map[string]json.RawMessage `json:"meta"`
	Buckets       map[string][]Record        `json:"buckets"`
}

func sortRecords(rs []Record) {
	slices.SortStableFunc(rs, func(a, b Record) int {
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return 0
	})
}

// Form turns a stored value into its JSON (Binding.Form).
type Form func(stored []byte) ([]byte, error)

// Export returns the whole store as a Document. forms, by bucket, turn
// the values a codec packed into JSON (Binding.Form); a packed value in a
// bucket without one is an error.
func (s *Store) Export(forms map[string]Form) (Document, error) {
	doc := Document{Format: DocumentFormat, SchemaVersion: DocumentVersion, Meta: map[string]json.RawMessage{}, Buckets: map[string][]Record{}}
	if err := s.flush(); err != nil {
		return doc, err
	}
	var names []string
	err := s.db.View(func(tx *bolt.Tx) error {
		if m := tx.Bucket(metaBucket); m != nil {
			m.ForEach(func(k, v []byte) error {
				if !reservedMeta(k) && json.Valid(v) {
					doc.Meta[string(k)] = slices.Clone(v)
				}
				return nil
			})
		}
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if string(name) != string(metaBucket) {
				names = append(names, string(name))
			}
			return nil
		})
	})
	if err != nil {
		return doc, err
	}
	for _, n := range names {
		rs, err := s.stored(n)
		if err != nil {
			return doc, err
		}
		for i := range rs {
			if rs[i].Value[0] != PackedMark && json.Valid(rs[i].Value) {
				continue
			}
			form := forms[n]
			if form == nil {
				return doc, damaged(s.path, fmt.Errorf("bucket %s record %q: a value that is not JSON, in a bucket this sandbox does not pack", n, rs[i].Key))
			}
			v, err := form(rs[i].Value)
			if err != nil {
				return doc, damaged(s.path, fmt.Errorf("bucket %s record %q: %v", n, rs[i].Key, err))
			}
			rs[i].Value = v
		}
		doc.Buckets[n] = rs
	}
	return doc, nil
}

// Empty reports whether the store holds no state: no object and no
// sandbox-wide value.
func (s *Store) Empty() (bool, error) {
	if err := s.flush(); err != nil {
		return false, err
	}
	empty := true
	err := s.db.View(func(tx *bolt.Tx) error {
		if m := tx.Bucket(metaBucket); m != nil {
			m.ForEach(func(k, _ []byte) error {
				if !reservedMeta(k) {
					empty = false
				}
				return nil
			})
		}
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if k, _ := b.Cursor().First(); string(name) != string(metaBucket) && k != nil {
				empty = false
			}
			return nil
		})
	})
	return empty, err
}

// DecodeDocument reads an export document and checks its format, schema
// version and records.
func DecodeDocument(r io.Reader) (Document, error) {
	var doc Document
	dec := json.NewDecoder(r)
	if err := dec.Decode(&doc); err != nil {
		return Document{}, fmt.Errorf("state document: %w", err)
	}
	if doc.Format != DocumentFormat {
		return Document{}, fmt.Errorf("state document: format is %q, want %q", doc.Format, DocumentFormat)
	}
	if doc.SchemaVersion < 1 || doc.SchemaVersion > DocumentVersion {
		return Document{}, fmt.Errorf("%w: the document has schema version %d, this sandbox reads 1 to %d", ErrNewerSchema, doc.SchemaVersion, DocumentVersion)
	}
	for name, rs := range doc.Buckets {
		if name == "" || name == string(metaBucket) {
			return Document{}, fmt.Errorf("state document: bucket name %q is reserved", name)
		}
		seen := map[string]bool{}
		for i, rc := range rs {
			if rc.Key == "" || seen[rc.Key] {
				return Document{}, fmt.Errorf("state document: bucket %s record %d: key %q is empty or repeated", name, i, rc.Key)
			}
			if !json.Valid(rc.Value) {
				return Document{}, fmt.Errorf("state document: bucket %s record %q: value is not JSON", name, rc.Key)
			}
			seen[rc.Key] = true
		}
	}
	for k, v := range doc.Meta {
		if reservedMeta([]byte(k)) || !json.Valid(v) {
			return Document{}, fmt.Errorf("state document: meta %q is reserved or not JSON", k)
		}
	}
	return doc, nil
}

// Import replaces the whole store with doc in one transaction.
func (s *Store) Import(doc Document) error {
	if doc.Format != DocumentFormat {
		return errors.New("state document: not checked by DecodeDocument")
	}
	return s.update(commitReq{tx: func(tx *bolt.Tx) error {
		var names [][]byte
		tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if string(name) != string(metaBucket) {
				names = append(names, slices.Clone(name))
			}
			return nil
		})
		for _, n := range names {
			if err := tx.DeleteBucket(n); err != nil {
				return err
			}
		}
		m := tx.Bucket(metaBucket)
		var metaKeys [][]byte
		m.ForEach(func(k, _ []byte) error {
			if !reservedMeta(k) {
				metaKeys = append(metaKeys, slices.Clone(k))
			}
			return nil
		})
		for _, k := range metaKeys {
			if err := m.Delete(k); err != nil {
				return err
			}
		}
		for k, v := range doc.Meta {
			if err := m.Put([]byte(k), v); err != nil {
				return err
			}
		}
		for name, rs := range doc.Buckets {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			rs = slices.Clone(rs)
			sortRecords(rs)
			for _, rc := range rs {
				seq, err := b.NextSequence()
				if err != nil {
					return err
				}
				if err := b.Put(seqKey(seq), encodeRecord(rc.Key, rc.Value)); err != nil {
					return err
				}
			}
		}
		return nil
	}})
}

// reservedMeta reports whether a meta key belongs to the store itself
// (not exported, not imported).
func reservedMeta(k []byte) bool {
	return string(k) == string(versionKey) || string(k) == string(walApplied)
}
