package sidebar

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Quick reply sources, the ReplyGroup.Source values.
const (
	// ReplySourceLocal groups are kept in kfsidebar's database and edited
	// on the management page (QuickRepliesPath).
	ReplySourceLocal = "local"
	// ReplySourceConsole is the group of the console's own quick replies,
	// learned from its settings response; read-only here.
	ReplySourceConsole = "console"
)

// ConsoleGroupName names the group of the console's own quick replies, as
// the console itself calls them.
const ConsoleGroupName = "客服工具快捷回复"

// ReplyVariables are the placeholders a reply may contain, written
// {nickname}; the sidebar fills them from the selected chat and customer
// and refuses to insert a reply it cannot fill. A reply using another
// {word} is rejected when saved, so a typo shows at once rather than in
// front of a customer.
var ReplyVariables = []string{"nickname", "name", "order_no", "tracking_no", "carrier", "amount"}

// ReplyGroup is one named list of quick replies, as the sidebar shows it.
type ReplyGroup struct {
	Name string `json:"name"`
	// Source is ReplySourceLocal or ReplySourceConsole.
	Source  string  `json:"source"`
	Replies []Reply `json:"replies"`
}

// Reply is one quick reply. Text may hold ReplyVariables.
type Reply struct {
	// ID is stable while the reply exists: a local reply's database id, or
	// "c" and a hash of a console reply's text.
	ID    string `json:"id"`
	Title string `json:"title,omitempty"`
	Text  string `json:"text"`
	// Initials is the search key for typing pinyin initials: Initials of
	// the title, a space, Initials of the text without its variables (just
	// the latter without a title).
	Initials string `json:"initials,omitempty"`
}

// Limits on what is stored, in characters: a reply is a chat message, not
// a document, and the console's own replies come from a response we do not
// control.
const (
	maxGroupName      = 40
	maxReplyTitle     = 40
	maxReplyText      = 2000
	maxConsoleReplies = 500
)

// QuickReplies are the agent's quick replies: local groups in the SQLite
// database, managed on the page its Handler serves and importable as a
// file, plus the console's own replies, which the proxy scans from the
// console's settings response (SetConsoleReplies) so the agent finds every
// reply in one place. Safe for concurrent use.
type QuickReplies struct {
	db  *sql.DB
	log *slog.Logger

	mu       sync.Mutex // guards the fields below
	console  []string
	unstored bool // console differs from the stored list
	storing  bool // storeConsole runs
	closed   bool
	stores   sync.WaitGroup

	subMu sync.Mutex
	subs  map[chan struct{}]struct{}
}

var _ QuickReplySource = (*QuickReplies)(nil)

// quickRepliesSchema: positions order groups and replies; ids break ties
// so that equal positions (which no write makes) still list stably.
const quickRepliesSchema = `
CREATE TABLE IF NOT EXISTS kf_quick_reply_groups (
	id   INTEGER PRIMARY KEY,
	pos  INTEGER NOT NULL,
	name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS kf_quick_replies (
	id       INTEGER PRIMARY KEY,
	group_id INTEGER NOT NULL REFERENCES kf_quick_reply_groups (id) ON DELETE CASCADE,
	pos      INTEGER NOT NULL,
	title    TEXT NOT NULL DEFAULT '',
	text     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS kf_quick_replies_group ON kf_quick_replies (group_id, pos, id);
CREATE TABLE IF NOT EXISTS kf_console_quick_replies (
	pos  INTEGER PRIMARY KEY,
	text TEXT NOT NULL
);
`

// seedGroup is what a new installation starts with, so the agent sees
// what quick replies with variables look like before writing any.
var seedGroup = struct {
	name    string
	replies [][2]string // title, text
}{
	name: "售后常用",
	replies: [][2]string{
		{"物流查询", "{nickname}您好，您的订单{order_no}已由{carrier}发出，运单号{tracking_no}，可以在微信里查看物流进度哦～"},
		{"催发货", "亲，您的订单{order_no}我们已经加急处理，今天内安排发出，发货后第一时间同步运单号给您～"},
		{"退换货", "{nickname}您好，收到商品7天内可申请无理由退换：在小程序“我的订单”里找到订单{order_no}，点“申请售后”按提示操作即可。"},
		{"退款进度", "您好，订单{order_no}的退款已原路退回，一般1-3个工作日到账，请留意微信支付通知。"},
		{"核对收货信息", "{name}您好，为确保包裹顺利送达，麻烦核对一下收货地址和电话是否正确～"},
		{"结束语", "感谢您的耐心等待，还有其他问题随时联系我们，祝您生活愉快！"},
	},
}

// OpenQuickReplies creates the quick reply tables if needed, seeds a
// default after-sales group the first time (not again after the agent
// deletes it) and loads the console replies seen before the restart. db
// must use the "sqlite3" driver; it stays owned by the caller. log may be
// nil.
func OpenQuickReplies(ctx context.Context, db *sql.DB, log *slog.Logger) (*QuickReplies, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	q := &QuickReplies{db: db, log: log, subs: map[chan struct{}]struct{}{}}
	err := q.writeTx(ctx, func(tx dbtx) error {
		var existed int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master
WHERE type = 'table' AND name = 'kf_quick_reply_groups'`).Scan(&existed); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, quickRepliesSchema); err != nil {
			return err
		}
		if existed > 0 {
			return nil
		}
		id, err := insertGroup(ctx, tx, seedGroup.name)
		if err != nil {
			return err
		}
		for _, r := range seedGroup.replies {
			if _, err := insertReply(ctx, tx, id, r[0], r[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open quick replies: %w", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT text FROM kf_console_quick_replies ORDER BY pos`)
	if err != nil {
		return nil, fmt.Errorf("open quick replies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("open quick replies: %w", err)
		}
		q.console = append(q.console, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("open quick replies: %w", err)
	}
	return q, nil
}

// Groups returns the local groups in the agent's order, each with its
// replies in order (an empty group has an empty Replies), then the
// console's group when the console has replies.
func (q *QuickReplies) Groups(ctx context.Context) ([]ReplyGroup, error) {
	local, err := q.localGroups(ctx)
	if err != nil {
		return nil, err
	}
	groups := make([]ReplyGroup, 0, len(local)+1)
	for _, g := range local {
		rg := ReplyGroup{Name: g.Name, Source: ReplySourceLocal, Replies: make([]Reply, 0, len(g.Replies))}
		for _, r := range g.Replies {
			rg.Replies = append(rg.Replies, newReply(strconv.FormatInt(r.ID, 10), r.Title, r.Text))
		}
		groups = append(groups, rg)
	}
	if console := q.consoleReplies(); len(console) > 0 {
		rg := ReplyGroup{Name: ConsoleGroupName, Source: ReplySourceConsole, Replies: make([]Reply, 0, len(console))}
		for _, text := range console {
			sum := sha256.Sum256([]byte(text))
			rg.Replies = append(rg.Replies, newReply("c"+hex.EncodeToString(sum[:6]), "", text))
		}
		groups = append(groups, rg)
	}
	return groups, nil
}

func newReply(id, title, text string) Reply {
	// A placeholder is not what the agent remembers a reply by.
	initials := Initials(variablePattern.ReplaceAllString(text, ""))
	if title != "" {
		initials = Initials(title) + " " + initials
	}
	return Reply{ID: id, Title: title, Text: text, Initials: initials}
}

func (q *QuickReplies) consoleReplies() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.console
}

// SetConsoleReplies replaces the console's replies with texts (as
// proxy.ScanFastReplies finds them): blanks are dropped, duplicates kept
// once. Subscribers are signalled only when the list changed, since the
// console asks for its settings on every page load. The list is stored in
// the background, so that a restart still shows it before the console is
// loaded again, without the proxy's response waiting for a busy database;
// Close waits for that write.
func (q *QuickReplies) SetConsoleReplies(texts []string) {
	clean := make([]string, 0, len(texts))
	for _, t := range texts {
		t = strings.TrimSpace(t)
		if t == "" || slices.Contains(clean, t) {
			continue
		}
		if utf8.RuneCountInString(t) > maxReplyText {
			continue // not a chat message we could send either
		}
		clean = append(clean, t)
		if len(clean) == maxConsoleReplies {
			break
		}
	}
	q.mu.Lock()
	if slices.Equal(q.console, clean) {
		q.mu.Unlock()
		return
	}
	q.console = clean
	q.unstored = true
	if !q.storing && !q.closed {
		q.storing = true
		q.stores.Add(1)
		go q.storeConsole()
	}
	q.mu.Unlock()
	q.notify()
}

// storeConsole writes the console replies until the stored list is the
// latest; one runs at a time.
func (q *QuickReplies) storeConsole() {
	defer q.stores.Done()
	for {
		q.mu.Lock()
		if !q.unstored {
			q.storing = false
			q.mu.Unlock()
			return
		}
		list := q.console
		q.unstored = false
		q.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := q.writeTx(ctx, func(tx dbtx) error {
			if _, err := tx.ExecContext(ctx, `DELETE FROM kf_console_quick_replies`); err != nil {
				return err
			}
			for i, t := range list {
				if _, err := tx.ExecContext(ctx, `INSERT INTO kf_console_quick_replies (pos, text) VALUES (?, ?)`, i, t); err != nil {
					return err
				}
			}
			return nil
		})
		cancel()
		if err != nil {
			q.log.Warn("could not store the console's quick replies (kept in memory)", "count", len(list), "err", err)
		}
	}
}

// Close waits until the console replies are stored; later ones are kept
// in memory only. It does not close the database, which belongs to the
// caller.
func (q *QuickReplies) Close() error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.stores.Wait()
	return nil
}

// Subscribe returns a channel that receives a signal after every change of
// Groups: an edit on the management page, an import, new console replies.
// Signals coalesce; the receiver reads Groups again. cancel stops the
// signals and closes the channel.
func (q *QuickReplies) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	q.subMu.Lock()
	q.subs[ch] = struct{}{}
	q.subMu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			q.subMu.Lock()
			delete(q.subs, ch)
			close(ch)
			q.subMu.Unlock()
		})
	}
}

func (q *QuickReplies) notify() {
	q.subMu.Lock()
	defer q.subMu.Unlock()
	for ch := range q.subs {
		select {
		case ch <- struct{}{}:
		default: // a signal is already pending
		}
	}
}

// localGroup and localReply are the stored form, with database ids; the
// management page and Export work on them.
type localGroup struct {
	ID      int64        `json:"id"`
	Name    string       `json:"name"`
	Replies []localReply `json:"replies"`
}

type localReply struct {
	ID    int64  `json:"id"`
	Title string `json:"title"`
	Text  string `json:"text"`
}

// localGroups reads every local group with its replies in one transaction,
// so a concurrent edit is seen whole or not at all.
func (q *QuickReplies) localGroups(ctx context.Context) ([]localGroup, error) {
	var groups []localGroup
	err := q.readTx(ctx, func(tx dbtx) error {
		groups = nil
		rows, err := tx.QueryContext(ctx, `SELECT id, name FROM kf_quick_reply_groups ORDER BY pos, id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		index := map[int64]int{}
		for rows.Next() {
			g := localGroup{Replies: []localReply{}}
			if err := rows.Scan(&g.ID, &g.Name); err != nil {
				return err
			}
			index[g.ID] = len(groups)
			groups = append(groups, g)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		replies, err := tx.QueryContext(ctx, `SELECT id, group_id, title, text FROM kf_quick_replies
ORDER BY group_id, pos, id`)
		if err != nil {
			return err
		}
		defer replies.Close()
		for replies.Next() {
			var (
				r   localReply
				gid int64
			)
			if err := replies.Scan(&r.ID, &gid, &r.Title, &r.Text); err != nil {
				return err
			}
			if i, ok := index[gid]; ok {
				groups[i].Replies = append(groups[i].Replies, r)
			}
		}
		return replies.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read quick replies: %w", err)
	}
	return groups, nil
}

// dbtx is what a transaction body needs: *sql.Tx and *sql.Conn have it.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readTx runs fn in a read transaction: one consistent snapshot.
func (q *QuickReplies) readTx(ctx context.Context, fn func(dbtx) error) error {
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // read-only: nothing to undo
	return fn(tx)
}

// writeTx runs fn in a transaction that takes the write lock first (BEGIN
// IMMEDIATE), committed when fn returns nil. A plain transaction that reads
// and then writes fails at once with "database is locked" when another
// connection wrote in between (its snapshot is stale, so SQLite cannot let
// it wait); an immediate one waits for the lock (the busy timeout) instead.
func (q *QuickReplies) writeTx(ctx context.Context, fn func(dbtx) error) (err error) {
	conn, err := q.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err == nil {
			return
		}
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			// Never hand a connection still inside a transaction back to
			// the pool: ErrBadConn makes database/sql close it.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if err := fn(conn); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}

func insertGroup(ctx context.Context, tx dbtx, name string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO kf_quick_reply_groups (pos, name)
VALUES ((SELECT coalesce(max(pos), -1) + 1 FROM kf_quick_reply_groups), ?) RETURNING id`, name).Scan(&id)
	return id, err
}

func insertReply(ctx context.Context, tx dbtx, groupID int64, title, text string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO kf_quick_replies (group_id, pos, title, text)
VALUES (?, (SELECT coalesce(max(pos), -1) + 1 FROM kf_quick_replies WHERE group_id = ?), ?, ?)
RETURNING id`, groupID, groupID, title, text).Scan(&id)
	return id, err
}

// replyInputError is a value the agent can fix (an empty text, a name in
// use); the page shows its text.
type replyInputError struct{ field, reason string }

func (e *replyInputError) Error() string { return e.field + ": " + e.reason }

var variablePattern = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// cleanGroupName trims a group name and checks it.
func cleanGroupName(name string) (string, *replyInputError) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", &replyInputError{"name", "must not be empty"}
	case utf8.RuneCountInString(name) > maxGroupName:
		return "", &replyInputError{"name", fmt.Sprintf("must be at most %d characters", maxGroupName)}
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", &replyInputError{"name", "must be one line"}
	}
	return name, nil
}

// cleanReply trims a reply's title and text and checks them: the text
// must be non-empty and use only ReplyVariables.
func cleanReply(title, text string) (string, string, *replyInputError) {
	title, text = strings.TrimSpace(title), strings.TrimSpace(text)
	switch {
	case utf8.RuneCountInString(title) > maxReplyTitle:
		return "", "", &replyInputError{"title", fmt.Sprintf("must be at most %d characters", maxReplyTitle)}
	case strings.IndexFunc(title, unicode.IsControl) >= 0:
		return "", "", &replyInputError{"title", "must be one line"}
	case text == "":
		return "", "", &replyInputError{"text", "must not be empty"}
	case utf8.RuneCountInString(text) > maxReplyText:
		return "", "", &replyInputError{"text", fmt.Sprintf("must be at most %d characters", maxReplyText)}
	}
	for _, m := range variablePattern.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(ReplyVariables, m[1]) {
			return "", "", &replyInputError{"text", fmt.Sprintf("unknown variable %s; use one of {%s}",
				m[0], strings.Join(ReplyVariables, "} {"))}
		}
	}
	return title, text, nil
}

// errNotFoundLocal is an edit of a group or reply that no longer exists
// (deleted in another tab).
var errNotFoundLocal = errors.New("no longer exists; reload the page")
