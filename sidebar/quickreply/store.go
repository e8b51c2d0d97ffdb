package quickreply

import (
	"context"
	"fmt"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
)

// migrations are the quick replies' schema steps (see sqlitedb.Step: each
// ID names its step forever).
var migrations = []sqlitedb.Step{
	// The first creates the tables and seeds them, once: a database made
	// before steps were recorded has the tables, and whatever the agent
	// left in them (no seed group, if they deleted it), so it is seeded
	// only when the groups table is new.
	{ID: "create kf_quick_reply tables, seeded", Apply: func(ctx context.Context, tx sqlitedb.Tx) error {
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
	}},
}

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
func (q *Store) localGroups(ctx context.Context) ([]localGroup, error) {
	var groups []localGroup
	err := q.readTx(ctx, func(tx sqlitedb.Tx) error {
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

// readTx runs fn in a read transaction: one consistent snapshot.
func (q *Store) readTx(ctx context.Context, fn func(sqlitedb.Tx) error) error {
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // read-only: nothing to undo
	return fn(tx)
}

// writeTx runs fn in a transaction that waits for the write lock (see
// sqlitedb.WriteTx), committed when fn returns nil. It is for writes
// nobody waits for (the console's replies, stored in the background).
func (q *Store) writeTx(ctx context.Context, fn func(sqlitedb.Tx) error) error {
	return sqlitedb.WriteTx(ctx, q.db, fn)
}

// importWait is how long an edit from the management page waits for an
// orders import that holds the database's write lock before the page is
// told that one is running (msgImportRunning): a second, as a reveal or a
// binding in the sidebar waits. An import that ends meanwhile lets the
// edit through.
const importWait = time.Second

// editTx is writeTx for the edits an agent waits for on the management
// page. While an `orders import` beside the proxy holds the write lock
// (8 s for a large file), it gives up after importWait with a
// *sqlitedb.BusyError that names the import, instead of failing after the
// busy timeout with an error that says nothing; nothing is written then.
func (q *Store) editTx(ctx context.Context, fn func(sqlitedb.Tx) error) error {
	return sqlitedb.ShortWriteTx(ctx, q.db, importWait, fn)
}

func insertGroup(ctx context.Context, tx sqlitedb.Tx, name string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO kf_quick_reply_groups (pos, name)
VALUES ((SELECT coalesce(max(pos), -1) + 1 FROM kf_quick_reply_groups), ?) RETURNING id`, name).Scan(&id)
	return id, err
}

func insertReply(ctx context.Context, tx sqlitedb.Tx, groupID int64, title, text string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO kf_quick_replies (group_id, pos, title, text)
VALUES (?, (SELECT coalesce(max(pos), -1) + 1 FROM kf_quick_replies WHERE group_id = ?), ?, ?)
RETURNING id`, groupID, groupID, title, text).Scan(&id)
	return id, err
}
