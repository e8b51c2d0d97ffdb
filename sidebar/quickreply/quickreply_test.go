package quickreply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kfsidebar/kfsidebar/internal/jsonrecord"
	"github.com/kfsidebar/kfsidebar/internal/kftest"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb/sqlitedbtest"
)

func openStore(t *testing.T, path string) *Store {
	t.Helper()
	q, err := Open(context.Background(), sqlitedbtest.Open(t, path), kftest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() }) // before the database closes
	return q
}

func newStore(t *testing.T) *Store {
	t.Helper()
	return openStore(t, filepath.Join(t.TempDir(), "kf.db"))
}

func groupsOf(t *testing.T, q *Store) []Group {
	t.Helper()
	g, err := q.Groups(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// texts summarizes groups as "name(source): text|text".
func texts(groups []Group) []string {
	var out []string
	for _, g := range groups {
		var ts []string
		for _, r := range g.Replies {
			ts = append(ts, r.Text)
		}
		out = append(out, g.Name+"("+g.Source+"): "+strings.Join(ts, "|"))
	}
	return out
}

func exportString(t *testing.T, q *Store) string {
	t.Helper()
	var buf bytes.Buffer
	if err := q.Export(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// signalled reports whether a signal is pending on ch. Signals are sent
// before the changing call returns, so no wait is needed.
func signalled(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestQuickRepliesSeedOnlyOnFirstRun(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kf.db")
	q := openStore(t, path)
	groups := groupsOf(t, q)
	if len(groups) != 1 || groups[0].Name != seedGroup.name || groups[0].Source != SourceLocal ||
		len(groups[0].Replies) != len(seedGroup.replies) {
		t.Fatalf("first run groups = %v, want the seed group", texts(groups))
	}
	first := groups[0].Replies[0]
	if first.Title != "物流查询" || first.Initials != "wlcx nhndddyyfcydhkyzwxlckwljdo" || first.ID == "" {
		t.Errorf("first seed reply = %+v", first)
	}
	for _, r := range groups[0].Replies {
		if _, _, bad := cleanReply(r.Title, r.Text); bad != nil {
			t.Errorf("seed reply %q is invalid: %v", r.Title, bad)
		}
	}
	local, err := q.localGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.deleteGroup(ctx, local[0].ID); err != nil {
		t.Fatal(err)
	}
	// The agent deleted the seed group: a restart must not bring it back.
	if groups := groupsOf(t, openStore(t, path)); len(groups) != 0 {
		t.Errorf("after deleting the seed and a restart: %v, want no groups", texts(groups))
	}
}

// TestOpenDatabaseOfAnEarlierRelease opens a database made before schema
// steps were recorded, in which the agent had deleted the seed group and
// kept one of their own: it is not seeded again, and the step is recorded
// as applied.
func TestOpenDatabaseOfAnEarlierRelease(t *testing.T) {
	ctx := context.Background()
	db := sqlitedbtest.New(t)
	// The tables as the releases before kf_migrations created them.
	if _, err := db.Exec(quickRepliesSchema + `
INSERT INTO kf_quick_reply_groups (id, pos, name) VALUES (7, 0, '我的');
INSERT INTO kf_quick_replies (group_id, pos, title, text) VALUES (7, 0, '', '稍等');
INSERT INTO kf_console_quick_replies (pos, text) VALUES (0, '控制台的');`); err != nil {
		t.Fatal(err)
	}
	q, err := Open(ctx, db, kftest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	want := []string{"我的(local): 稍等", ConsoleGroupName + "(console): 控制台的"}
	if got := texts(groupsOf(t, q)); !slices.Equal(got, want) {
		t.Errorf("groups = %q, want %q", got, want)
	}
	if ids, err := sqlitedb.Applied(ctx, db, "quick_replies"); err != nil || len(ids) != 1 {
		t.Errorf("applied %q, %v; want the one step", ids, err)
	}
}

func TestConsoleRepliesPersistedAndSignalledOnChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kf.db")
	q := openStore(t, path)
	ch, cancel := q.Subscribe()
	defer cancel()

	steps := []struct {
		name    string
		set     []string
		signal  bool
		console []string // the console group's texts; nil: no group
	}{
		{"first sight", []string{"您好", " 您好 ", "", "请稍等"}, true, []string{"您好", "请稍等"}},
		{"same again", []string{"您好", "请稍等"}, false, []string{"您好", "请稍等"}},
		{"same after cleaning", []string{" 您好", "请稍等", "您好"}, false, []string{"您好", "请稍等"}},
		{"order changed", []string{"请稍等", "您好"}, true, []string{"请稍等", "您好"}},
		{"one added", []string{"请稍等", "您好", "再见"}, true, []string{"请稍等", "您好", "再见"}},
		{"emptied", []string{}, true, nil},
		{"still empty", nil, false, nil},
		{"back", []string{"在的"}, true, []string{"在的"}},
	}
	for _, s := range steps {
		q.SetConsoleReplies(s.set)
		if got := signalled(ch); got != s.signal {
			t.Errorf("%s: signalled = %v, want %v", s.name, got, s.signal)
		}
		checkConsoleGroup(t, s.name, groupsOf(t, q), s.console)
	}
	// A restart keeps the last list: Close waits for it to be stored.
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	checkConsoleGroup(t, "after restart", groupsOf(t, openStore(t, path)), []string{"在的"})
}

func checkConsoleGroup(t *testing.T, step string, groups []Group, want []string) {
	t.Helper()
	var got []string
	var ids []string
	for _, g := range groups {
		if g.Source != SourceConsole {
			continue
		}
		if g.Name != ConsoleGroupName {
			t.Errorf("%s: console group named %q", step, g.Name)
		}
		for _, r := range g.Replies {
			got = append(got, r.Text)
			ids = append(ids, r.ID)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: console replies = %q, want %q", step, got, want)
	}
	if groups[len(groups)-1].Source != SourceConsole && want != nil {
		t.Errorf("%s: console group is not last: %v", step, texts(groups))
	}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != len(got) || slices.Contains(ids, "") {
		t.Errorf("%s: console reply ids not unique: %q", step, ids)
	}
}

func TestSubscribeCancelClosesChannel(t *testing.T) {
	q := newStore(t)
	ch, cancel := q.Subscribe()
	cancel()
	cancel() // twice is harmless
	if _, ok := <-ch; ok {
		t.Fatal("channel not closed by cancel")
	}
	q.SetConsoleReplies([]string{"x"}) // must not send on the closed channel
}

func TestImportAllOrNothing(t *testing.T) {
	tests := []struct {
		name string
		file string
		want string // the error text
	}{
		{"empty", "  ", `the file is empty; expected a JSON object like {"groups": [...]}`},
		{"not json", "groups: []", "invalid JSON at byte 1: invalid character 'g' looking for beginning of value"},
		{"truncated", `{"groups": [{"name": "a"`, "invalid JSON at byte 24: unexpected end of JSON input"},
		{"array", `[]`, `the file must be one JSON object like {"groups": [...]}: must be a JSON object (got array)`},
		{"no groups", `{}`, `groups: missing; the file must look like {"groups": [...]}`},
		{"unknown top key", `{"groups": [], "extra": 1}`, "extra: unknown field; expected one of groups"},
		{"groups not array", `{"groups": {}}`, "groups: must be an array (got object)"},
		{"empty group name", `{"groups": [{"name": " ", "replies": []}]}`, "groups[0].name: must not be empty"},
		{"group name type", `{"groups": [{"name": 7}]}`, "groups[0].name: must be a string (got number)"},
		{"duplicate group", `{"groups": [{"name": "a"}, {"name": " a"}]}`,
			`groups[1].name: "a" is also the name of groups[0]; put its replies in one group`},
		{"misspelt key", `{"groups": [{"name": "a", "replies": [{"txet": "hi"}]}]}`,
			"groups[0].replies[0].txet: unknown field; expected one of title, text"},
		{"empty text", `{"groups": [{"name": "a", "replies": [{"text": "ok"}, {"title": "t", "text": ""}]}]}`,
			"groups[0].replies[1].text: must not be empty"},
		{"unknown variable", `{"groups": [{"name": "a", "replies": [{"text": "单号{ordr_no}"}]}]}`,
			"groups[0].replies[0].text: unknown variable {ordr_no}; use one of {nickname} {name} {order_no} {tracking_no} {carrier} {amount}"},
		{"long title", `{"groups": [{"name": "a", "replies": [{"title": "` + strings.Repeat("长", 41) + `", "text": "x"}]}]}`,
			"groups[0].replies[0].title: must be at most 40 characters"},
		{"reply null", `{"groups": [{"name": "a", "replies": [null]}]}`, "groups[0].replies[0]: must be a JSON object (got null)"},
	}
	q := newStore(t)
	before := exportString(t, q)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := q.Import(context.Background(), strings.NewReader(tt.file))
			var ie *jsonrecord.ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("Import = %d, %v; want an *jsonrecord.ImportError", n, err)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q\nwant    %q", err.Error(), tt.want)
			}
			if after := exportString(t, q); after != before {
				t.Errorf("a failed import changed the replies:\n%s", after)
			}
		})
	}
}

func TestImportMergesByGroupName(t *testing.T) {
	ctx := context.Background()
	q := newStore(t)
	ch, cancel := q.Subscribe()
	defer cancel()
	file := `{"groups": [
		{"name": "售后常用", "replies": [{"title": "物流查询", "text": "{nickname}您好，您的订单{order_no}已由{carrier}发出，运单号{tracking_no}，可以在微信里查看物流进度哦～"},
		                                {"text": "  新的一条  "}]},
		{"name": "活动", "replies": [{"title": "双11", "text": "双11全场满300减50"}]},
		{"name": "空分组"}
	]}`
	n, err := q.Import(ctx, strings.NewReader(file))
	if err != nil || n != 2 {
		t.Fatalf("Import = %d, %v; want 2 added (the seed reply is already there)", n, err)
	}
	if !signalled(ch) {
		t.Error("import did not signal")
	}
	got := texts(groupsOf(t, q))
	if len(got) != 3 || !strings.HasSuffix(got[0], "|新的一条") || got[1] != "活动(local): 双11全场满300减50" || got[2] != "空分组(local): " {
		t.Errorf("after import: %q", got)
	}
	// The same file again adds nothing and tells nobody.
	if n, err := q.Import(ctx, strings.NewReader(file)); err != nil || n != 0 {
		t.Errorf("second Import = %d, %v; want 0, nil", n, err)
	}
	if signalled(ch) {
		t.Error("an import that changed nothing signalled")
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := newStore(t)
	gid, err := src.addGroup(ctx, "活动 <b>&</b>")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]string{{"", "第一行\n第二行\t\"引号\""}, {"表情", "好的😊 {amount}"}} {
		if _, err := src.addReply(ctx, gid, r[0], r[1]); err != nil {
			t.Fatal(err)
		}
	}
	local, err := src.localGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.orderGroups(ctx, []int64{local[1].ID, local[0].ID}); err != nil {
		t.Fatal(err)
	}
	src.SetConsoleReplies([]string{"console only"})
	exported := exportString(t, src)
	if strings.Contains(exported, "console only") {
		t.Error("export holds the console's replies")
	}
	var parsed struct {
		Groups []struct {
			Name    string `json:"name"`
			Replies []struct {
				Title *string `json:"title"`
				Text  string  `json:"text"`
			} `json:"replies"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(exported), &parsed); err != nil {
		t.Fatal(err)
	}
	if len(parsed.Groups) != 2 || parsed.Groups[0].Name != "活动 <b>&</b>" || parsed.Groups[0].Replies[0].Title != nil {
		t.Errorf("export = %s", exported)
	}

	dst := newStore(t)
	if _, err := dst.deleteFirstGroup(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := dst.Import(ctx, strings.NewReader(exported))
	if err != nil || n != 2+len(seedGroup.replies) {
		t.Fatalf("Import = %d, %v", n, err)
	}
	if got := exportString(t, dst); got != exported {
		t.Errorf("round trip differs:\n--- got\n%s\n--- want\n%s", got, exported)
	}
}

// deleteFirstGroup empties a new store of its seed group.
func (q *Store) deleteFirstGroup(ctx context.Context) (int64, error) {
	local, err := q.localGroups(ctx)
	if err != nil || len(local) == 0 {
		return 0, err
	}
	return local[0].ID, q.deleteGroup(ctx, local[0].ID)
}

// Edits that read before they write must wait for the write lock, not fail
// with "database is locked", while the console replies are being stored
// and other edits run.
func TestConcurrentEditsWaitForTheLock(t *testing.T) {
	ctx := context.Background()
	q := newStore(t)
	if _, err := q.deleteFirstGroup(ctx); err != nil {
		t.Fatal(err)
	}
	gid, err := q.addGroup(ctx, "并发")
	if err != nil {
		t.Fatal(err)
	}
	const workers, edits = 4, 15
	errs := make(chan error, workers*edits+edits)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range edits {
			q.SetConsoleReplies([]string{strings.Repeat("控", i+1)})
			_, err := q.Import(ctx, strings.NewReader(`{"groups":[{"name":"导入","replies":[{"text":"第`+strings.Repeat("一", i+1)+`条"}]}]}`))
			errs <- err
		}
	}()
	for w := range workers {
		go func() {
			for i := range edits {
				_, err := q.addReply(ctx, gid, "", strings.Repeat("回", w+1)+strings.Repeat("复", i+1))
				errs <- err
			}
		}()
	}
	for range workers*edits + edits {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	<-done
	got := texts(groupsOf(t, q))
	if len(got) != 3 || strings.Count(got[0], "|")+1 != workers*edits || strings.Count(got[1], "|")+1 != edits {
		t.Errorf("after concurrent edits: %d groups, %q", len(got), got)
	}
}
