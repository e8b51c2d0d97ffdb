package certs

import (
	"errors"
	"strings"
	"testing"
)

// fakeRootStore is a certificate store as crypt32 shows it, misbehaving
// on demand the ways Wine's does.
type fakeRootStore struct {
	certs [][]byte
	// deleteIgnored: a delete reports success and the certificate stays
	// (Wine 8's user root store).
	deleteIgnored bool
	// endless: the enumeration never ends, going round the store.
	endless bool
	// deleteErr is what every delete returns (the user answered No).
	deleteErr error
	opens     int
	deletes   int
}

type fakeReader struct {
	s   *fakeRootStore
	pos int
}

func (s *fakeRootStore) open() (storeReader, error) {
	s.opens++
	return &fakeReader{s: s}, nil
}

func (r *fakeReader) next() (storeCert, bool, error) {
	if r.pos >= len(r.s.certs) {
		if !r.s.endless || len(r.s.certs) == 0 {
			return storeCert{}, false, nil
		}
		r.pos = 0
	}
	i := r.pos
	r.pos++
	der := r.s.certs[i]
	return storeCert{id: uintptr(i + 1), der: der, delete: func() error {
		r.s.deletes++
		if r.s.deleteErr != nil {
			return r.s.deleteErr
		}
		if !r.s.deleteIgnored {
			for j, c := range r.s.certs {
				if string(c) == string(der) {
					r.s.certs = append(r.s.certs[:j], r.s.certs[j+1:]...)
					break
				}
			}
		}
		return nil
	}}, true, nil
}

func (r *fakeReader) close() {}

// TestRemoveFromStoreIsBounded: `ca uninstall` on Windows deletes each
// copy of the CA once per pass, never while reading the store, stops
// after maxRemovePasses, and says what it could not remove, whatever the
// store does (Wine's looped for ever at full CPU).
func TestRemoveFromStoreIsBounded(t *testing.T) {
	ours, other := []byte("our CA"), []byte("someone else's root")
	tests := []struct {
		name        string
		store       fakeRootStore
		wantDeleted int
		wantErr     []string // in the error; none: no error
		wantLeft    int      // copies of ours left
	}{
		{name: "one copy", store: fakeRootStore{certs: [][]byte{other, ours}}, wantDeleted: 1},
		{name: "two copies", store: fakeRootStore{certs: [][]byte{ours, other, ours}}, wantDeleted: 2},
		{name: "not there", store: fakeRootStore{certs: [][]byte{other}}},
		{name: "deletes that do not take (Wine)", store: fakeRootStore{certs: [][]byte{ours, other}, deleteIgnored: true},
			wantDeleted: maxRemovePasses, wantLeft: 1,
			wantErr: []string{"1 copy", "still in the windows root store after 3 attempt", "certutil -user -delstore Root " + thumbprint(ours)}},
		{name: "an enumeration that never ends", store: fakeRootStore{certs: [][]byte{other, ours}, endless: true},
			wantDeleted: 1, wantErr: []string{"does not end"}},
		{name: "an enumeration that never ends, deletes that do not take", store: fakeRootStore{certs: [][]byte{ours, other}, endless: true, deleteIgnored: true},
			wantDeleted: maxRemovePasses, wantLeft: 1, wantErr: []string{"1 copy", "does not end"}},
		{name: "the user says No", store: fakeRootStore{certs: [][]byte{other, ours}, deleteErr: errors.New("the operation was cancelled")},
			wantLeft: 1, wantErr: []string{"1 copy", "after 1 attempt", "cancelled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.store
			deleted, err := removeFromStore(s.open, ours)
			if deleted != tt.wantDeleted {
				t.Errorf("deleted %d, want %d", deleted, tt.wantDeleted)
			}
			if s.opens > maxRemovePasses+1 {
				t.Errorf("read the store %d times, at most %d", s.opens, maxRemovePasses+1)
			}
			if len(tt.wantErr) == 0 && err != nil {
				t.Fatalf("error %v", err)
			}
			if len(tt.wantErr) > 0 && !errors.Is(err, ErrStillInStore) {
				t.Fatalf("error %v, want ErrStillInStore", err)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			left, others := 0, 0
			for _, c := range s.certs {
				switch string(c) {
				case string(ours):
					left++
				case string(other):
					others++
				}
			}
			if left != tt.wantLeft || others != 1 {
				t.Errorf("left %d copies of ours and %d of the other root, want %d and 1", left, others, tt.wantLeft)
			}
		})
	}
}
