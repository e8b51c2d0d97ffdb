package quickreply

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
)

// The edits of the management page. Each runs in one transaction and
// signals subscribers after it commits, so every open sidebar shows the
// change at once. Values are cleaned and checked here, not in the page,
// so that nothing else can store what the page would refuse. While an
// orders import holds the database, an edit waits importWait and then
// fails with a *sqlitedb.BusyError, changing nothing (see editTx).

// errStaleOrder is a reorder whose list is not the current one: another
// tab added or deleted something meanwhile.
var errStaleOrder = errors.New("the list changed in another tab; reload the page")

// edit runs fn in a transaction (editTx) and signals subscribers when it
// commits.
func (q *Store) edit(ctx context.Context, fn func(sqlitedb.Tx) error) error {
	if err := q.editTx(ctx, fn); err != nil {
		return err
	}
	q.notify()
	return nil
}

func (q *Store) addGroup(ctx context.Context, name string) (int64, error) {
	name, bad := cleanGroupName(name)
	if bad != nil {
		return 0, bad
	}
	var id int64
	err := q.edit(ctx, func(tx sqlitedb.Tx) error {
		if err := checkNameFree(ctx, tx, name, 0); err != nil {
			return err
		}
		var err error
		id, err = insertGroup(ctx, tx, name)
		return err
	})
	return id, err
}

func (q *Store) renameGroup(ctx context.Context, id int64, name string) error {
	name, bad := cleanGroupName(name)
	if bad != nil {
		return bad
	}
	return q.edit(ctx, func(tx sqlitedb.Tx) error {
		if err := checkNameFree(ctx, tx, name, id); err != nil {
			return err
		}
		return mustChange(tx.ExecContext(ctx, `UPDATE kf_quick_reply_groups SET name = ? WHERE id = ?`, name, id))
	})
}

// checkNameFree refuses a group name another group (not id) has: Import
// matches groups by name.
func checkNameFree(ctx context.Context, tx sqlitedb.Tx, name string, id int64) error {
	var other int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM kf_quick_reply_groups WHERE name = ?`, name).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && other == id):
		return nil
	case err != nil:
		return err
	}
	return &replyInputError{"name", fmt.Sprintf("a group named %q already exists", name)}
}

// deleteGroup deletes the group and its replies (explicitly: the database
// may not enforce foreign keys).
func (q *Store) deleteGroup(ctx context.Context, id int64) error {
	return q.edit(ctx, func(tx sqlitedb.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM kf_quick_replies WHERE group_id = ?`, id); err != nil {
			return err
		}
		return mustChange(tx.ExecContext(ctx, `DELETE FROM kf_quick_reply_groups WHERE id = ?`, id))
	})
}

// orderGroups puts the groups in the order of ids, which must name every
// group once.
func (q *Store) orderGroups(ctx context.Context, ids []int64) error {
	return q.edit(ctx, func(tx sqlitedb.Tx) error {
		return reorder(ctx, tx, `SELECT id FROM kf_quick_reply_groups`, nil,
			`UPDATE kf_quick_reply_groups SET pos = ? WHERE id = ?`, ids)
	})
}

func (q *Store) addReply(ctx context.Context, groupID int64, title, text string) (int64, error) {
	title, text, bad := cleanReply(title, text)
	if bad != nil {
		return 0, bad
	}
	var id int64
	err := q.edit(ctx, func(tx sqlitedb.Tx) error {
		if err := groupExists(ctx, tx, groupID); err != nil {
			return err
		}
		var err error
		id, err = insertReply(ctx, tx, groupID, title, text)
		return err
	})
	return id, err
}

// updateReply changes a reply's title and text and, when groupID is not
// its group, moves it to the end of that group.
func (q *Store) updateReply(ctx context.Context, id, groupID int64, title, text string) error {
	title, text, bad := cleanReply(title, text)
	if bad != nil {
		return bad
	}
	return q.edit(ctx, func(tx sqlitedb.Tx) error {
		var current int64
		err := tx.QueryRowContext(ctx, `SELECT group_id FROM kf_quick_replies WHERE id = ?`, id).Scan(&current)
		if errors.Is(err, sql.ErrNoRows) {
			return errNotFoundLocal
		} else if err != nil {
			return err
		}
		if groupID != 0 && groupID != current {
			if err := groupExists(ctx, tx, groupID); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE kf_quick_replies SET group_id = ?,
	pos = (SELECT coalesce(max(pos), -1) + 1 FROM kf_quick_replies WHERE group_id = ?) WHERE id = ?`,
				groupID, groupID, id)
			if err != nil {
				return err
			}
		}
		return mustChange(tx.ExecContext(ctx, `UPDATE kf_quick_replies SET title = ?, text = ? WHERE id = ?`, title, text, id))
	})
}

func (q *Store) deleteReply(ctx context.Context, id int64) error {
	return q.edit(ctx, func(tx sqlitedb.Tx) error {
		return mustChange(tx.ExecContext(ctx, `DELETE FROM kf_quick_replies WHERE id = ?`, id))
	})
}

// orderReplies puts a group's replies in the order of ids, which must
// name each of them once.
func (q *Store) orderReplies(ctx context.Context, groupID int64, ids []int64) error {
	return q.edit(ctx, func(tx sqlitedb.Tx) error {
		if err := groupExists(ctx, tx, groupID); err != nil {
			return err
		}
		return reorder(ctx, tx, `SELECT id FROM kf_quick_replies WHERE group_id = ?`, []any{groupID},
			`UPDATE kf_quick_replies SET pos = ? WHERE id = ?`, ids)
	})
}

// reorder checks that ids are exactly the ids the list query returns and
// writes their positions.
func reorder(ctx context.Context, tx sqlitedb.Tx, list string, listArgs []any, update string, ids []int64) error {
	rows, err := tx.QueryContext(ctx, list, listArgs...)
	if err != nil {
		return err
	}
	var current []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		current = append(current, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	slices.Sort(current)
	if !slices.Equal(sorted, current) {
		return errStaleOrder
	}
	for pos, id := range ids {
		if _, err := tx.ExecContext(ctx, update, pos, id); err != nil {
			return err
		}
	}
	return nil
}

func groupExists(ctx context.Context, tx sqlitedb.Tx, id int64) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM kf_quick_reply_groups WHERE id = ?`, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return errNotFoundLocal
	}
	return nil
}

// mustChange turns an UPDATE or DELETE that matched no row into
// errNotFoundLocal.
func mustChange(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return errNotFoundLocal
	}
	return nil
}
