package quickreply

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
)

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
func (q *Store) readTx(ctx context.Context, fn func(dbtx) error) error {
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
func (q *Store) writeTx(ctx context.Context, fn func(dbtx) error) (err error) {
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
