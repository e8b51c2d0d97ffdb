// Package quickreply is the agent's quick replies: named groups of texts
// kept in kfsidebar's SQLite database, with variables ({nickname},
// {order_no}, …) the sidebar fills from the chat and the customer, plus the
// console's own quick replies, which the proxy scans from the console's
// settings response, so the agent finds every reply in one place and
// searches them by pinyin initials (Initials).
//
// Its HTTP face is here too: the management page (Store.Handler, mounted by
// the command on the proxy's own address at PagePath) where the agent adds,
// edits, orders, imports and exports them. The sidebar only reads them,
// through its QuickReplySource.
package quickreply

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
)

// Quick reply sources, the Group.Source values.
const (
	// SourceLocal groups are kept in kfsidebar's database and edited
	// on the management page (PagePath).
	SourceLocal = "local"
	// SourceConsole is the group of the console's own quick replies,
	// learned from its settings response; read-only here.
	SourceConsole = "console"
)

// ConsoleGroupName names the group of the console's own quick replies, as
// the console itself calls them.
const ConsoleGroupName = "客服工具快捷回复"

// Variables are the placeholders a reply may contain, written
// {nickname}; the sidebar fills them from the selected chat and customer
// and refuses to insert a reply it cannot fill. A reply using another
// {word} is rejected when saved, so a typo shows at once rather than in
// front of a customer.
var Variables = []string{"nickname", "name", "order_no", "tracking_no", "carrier", "amount"}

// Group is one named list of quick replies, as the sidebar shows it.
type Group struct {
	Name string `json:"name"`
	// Source is SourceLocal or SourceConsole.
	Source  string  `json:"source"`
	Replies []Reply `json:"replies"`
}

// Reply is one quick reply. Text may hold Variables.
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

// Store is the agent's quick replies: local groups in the SQLite
// database, managed on the page its Handler serves and importable as a
// file, plus the console's own replies, which the proxy scans from the
// console's settings response (SetConsoleReplies) so the agent finds every
// reply in one place. Safe for concurrent use.
type Store struct {
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

// Open creates the quick reply tables if needed, seeds a default
// after-sales group the first time (not again after the agent deletes it)
// and loads the console replies seen before the restart. db is opened with
// sqlitedb.Open; it stays owned by the caller. log may be nil.
func Open(ctx context.Context, db *sql.DB, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	q := &Store{db: db, log: log, subs: map[chan struct{}]struct{}{}}
	err := sqlitedb.Migrate(ctx, db, "quick_replies", migrations)
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
func (q *Store) Groups(ctx context.Context) ([]Group, error) {
	local, err := q.localGroups(ctx)
	if err != nil {
		return nil, err
	}
	groups := make([]Group, 0, len(local)+1)
	for _, g := range local {
		rg := Group{Name: g.Name, Source: SourceLocal, Replies: make([]Reply, 0, len(g.Replies))}
		for _, r := range g.Replies {
			rg.Replies = append(rg.Replies, newReply(strconv.FormatInt(r.ID, 10), r.Title, r.Text))
		}
		groups = append(groups, rg)
	}
	if console := q.consoleReplies(); len(console) > 0 {
		rg := Group{Name: ConsoleGroupName, Source: SourceConsole, Replies: make([]Reply, 0, len(console))}
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

func (q *Store) consoleReplies() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.console
}

// SetConsoleReplies replaces the console's replies with texts (as
// scan.FastReplies finds them): blanks are dropped, duplicates kept
// once. Subscribers are signalled only when the list changed, since the
// console asks for its settings on every page load. The list is stored in
// the background, so that a restart still shows it before the console is
// loaded again, without the proxy's response waiting for a busy database;
// Close waits for that write.
func (q *Store) SetConsoleReplies(texts []string) {
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
func (q *Store) storeConsole() {
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
		err := q.writeTx(ctx, func(tx sqlitedb.Tx) error {
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
func (q *Store) Close() error {
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
func (q *Store) Subscribe() (<-chan struct{}, func()) {
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

func (q *Store) notify() {
	q.subMu.Lock()
	defer q.subMu.Unlock()
	for ch := range q.subs {
		select {
		case ch <- struct{}{}:
		default: // a signal is already pending
		}
	}
}
