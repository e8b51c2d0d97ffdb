package sysproxy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// memSystem is a System kept in memory; failSet makes SetPAC fail after
// changing what changeOnFail says.
type memSystem struct {
	cur          Setting
	sets         []string
	failSet      bool
	changeOnFail bool
}

func (m *memSystem) Name() string { return "test settings" }

func (m *memSystem) Get(context.Context) (Setting, error) {
	s := m.cur
	s.Saved = map[string]string{"url": m.cur.PACURL}
	return s, nil
}

func (m *memSystem) SetPAC(_ context.Context, u string) error {
	m.sets = append(m.sets, u)
	if m.failSet {
		if m.changeOnFail {
			m.cur.PACURL = "half-set"
		}
		return errors.New("settings daemon not running")
	}
	m.cur.PACURL = u
	return nil
}

func (m *memSystem) Restore(_ context.Context, prev Setting) error {
	m.cur.PACURL = prev.Saved["url"]
	return nil
}

func TestSamePACAndFreshURL(t *testing.T) {
	at := time.UnixMilli(1700000000123)
	fresh := FreshURL(testPAC, at)
	if fresh != testPAC+"?t=1700000000123" {
		t.Fatalf("FreshURL = %q", fresh)
	}
	if FreshURL(fresh, at.Add(time.Second)) != testPAC+"?t=1700000001123" {
		t.Fatalf("FreshURL of a fresh URL keeps the old query")
	}
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{testPAC, fresh, true},
		{fresh, testPAC + "#x", true},
		{testPAC, "http://127.0.0.1:8788/proxy.pac", false},
		{"", testPAC, false},
		{"", "", true},
	} {
		if got := SamePAC(tt.a, tt.b); got != tt.want {
			t.Errorf("SamePAC(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}

// TestRefresh: only a setting that `proxy on` made is refreshed, each
// time under a new URL, and `proxy off` still restores what was before.
func TestRefresh(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sys := &memSystem{}
	if out, _, err := Refresh(ctx, sys, dir, testPAC, time.Now()); err != nil || out != NotOn || len(sys.sets) != 0 {
		t.Fatalf("before proxy on: %v %v, sets %q", out, err, sys.sets)
	}
	if _, err := On(ctx, sys, dir, testPAC); err != nil {
		t.Fatal(err)
	}
	var urls []string
	for i := range 2 {
		out, u, err := Refresh(ctx, sys, dir, testPAC, time.UnixMilli(int64(1000+i)))
		if err != nil || out != Refreshed || sys.cur.PACURL != u {
			t.Fatalf("refresh %d: %v %q %v (in force %q)", i, out, u, err, sys.cur.PACURL)
		}
		urls = append(urls, u)
	}
	if urls[0] == urls[1] || !SamePAC(urls[0], testPAC) {
		t.Fatalf("refreshed URLs %q", urls)
	}
	// proxy on again finds its own PAC under the fresh URL: nothing to do.
	if res, err := On(ctx, sys, dir, testPAC); err != nil || !res.Already {
		t.Fatalf("on after refresh: %+v %v", res, err)
	}
	if res, err := Off(ctx, sys, dir, testPAC); err != nil || res.Outcome != Restored || sys.cur.PACURL != "" {
		t.Fatalf("off after refresh: %+v %v, in force %q", res, err, sys.cur.PACURL)
	}
	// Someone else's PAC is never taken over.
	if _, err := On(ctx, sys, dir, testPAC); err != nil {
		t.Fatal(err)
	}
	sys.cur.PACURL = "http://it.example/corp.pac"
	n := len(sys.sets)
	if out, _, err := Refresh(ctx, sys, dir, testPAC, time.Now()); err != nil || out != NotOurs || len(sys.sets) != n {
		t.Fatalf("someone else's PAC: %v %v", out, err)
	}
}

// TestFailedOnLeavesNothing: a proxy on that changed nothing forgets its
// record (no system-proxy.json left behind); one that changed something
// keeps it, so that proxy off can put it back.
func TestFailedOnLeavesNothing(t *testing.T) {
	for _, tt := range []struct {
		name      string
		changed   bool
		wantState bool
	}{
		{"nothing changed", false, false},
		{"half changed", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			sys := &memSystem{failSet: true, changeOnFail: tt.changed}
			if _, err := On(context.Background(), sys, dir, testPAC); err == nil {
				t.Fatal("On succeeded")
			}
			_, err := os.Stat(filepath.Join(dir, StateFile))
			if got := err == nil; got != tt.wantState {
				t.Fatalf("state file kept: %v, want %v", got, tt.wantState)
			}
		})
	}
}
