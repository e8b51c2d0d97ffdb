package sidebar

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
)

// Bindings remember the customer an agent chose for a chat whose automatic
// match failed (no openid known, or the shop has no customer with it), so
// the next time that chat is selected the sidebar shows the customer at
// once. A binding stays until the agent undoes it.
//
// A chat is named by the strongest key the sidebar has for it: its openid,
// else "uin:<fans_uin>" (see ChatKey). Never by its avatar: WeChat's
// default picture would hand one customer to thousands of users.
type Bindings struct {
	db *sql.DB
}

// bindingsMigrations are the schema steps of the bindings (see
// sqlitedb.Step: each ID names its step forever). The first is idempotent
// because databases made before steps were recorded have the table.
var bindingsMigrations = []sqlitedb.Step{
	{ID: "create kf_bindings", Apply: sqlitedb.Exec(`
CREATE TABLE IF NOT EXISTS kf_bindings (
	chat_key    TEXT PRIMARY KEY NOT NULL,
	customer_id TEXT NOT NULL,
	bound_at    INTEGER NOT NULL
) WITHOUT ROWID;
`)},
}

// ChatKeyUIN prefixes a Bindings key that is a fans_uin, not an openid.
const ChatKeyUIN = "uin:"

// OpenBindings creates the kf_bindings table if needed. db is opened with
// sqlitedb.Open; it stays owned by the caller.
func OpenBindings(ctx context.Context, db *sql.DB) (*Bindings, error) {
	if err := sqlitedb.Migrate(ctx, db, "bindings", bindingsMigrations); err != nil {
		return nil, fmt.Errorf("create bindings table: %w", err)
	}
	return &Bindings{db: db}, nil
}

// ChatKey returns the key Bindings use for a chat: the openid when known,
// else the fans_uin; "" when the chat has neither (then it cannot be
// bound).
func ChatKey(openid, uin string) string {
	switch {
	case strings.TrimSpace(openid) != "":
		return strings.TrimSpace(openid)
	case strings.TrimSpace(uin) != "":
		return ChatKeyUIN + strings.TrimSpace(uin)
	}
	return ""
}

// Bind points chatKey at the shop's customer id (Customer.ID, or the
// customer's openid when it has no ID), replacing an earlier binding.
// While an `orders import` beside the proxy holds the database, Bind and
// Unbind wait a second, as a reveal does, then fail with a
// *sqlitedb.BusyError that names the import.
func (b *Bindings) Bind(ctx context.Context, chatKey, customerID string) error {
	if err := checkBindingKey(chatKey); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	if strings.TrimSpace(customerID) == "" {
		return fmt.Errorf("bind: %w: empty customer id", ErrInvalidBinding)
	}
	err := sqlitedb.ShortWriteTx(ctx, b.db, revealImportWait, func(tx sqlitedb.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO kf_bindings (chat_key, customer_id, bound_at)
VALUES (?, ?, ?)
ON CONFLICT (chat_key) DO UPDATE SET customer_id = excluded.customer_id, bound_at = excluded.bound_at`,
			chatKey, customerID, time.Now().UnixNano())
		return err
	})
	if err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	return nil
}

// Unbind undoes the binding of chatKey; a chat that was not bound is not
// an error (the agent's "undo" may race another tab's).
func (b *Bindings) Unbind(ctx context.Context, chatKey string) error {
	if err := checkBindingKey(chatKey); err != nil {
		return fmt.Errorf("unbind: %w", err)
	}
	err := sqlitedb.ShortWriteTx(ctx, b.db, revealImportWait, func(tx sqlitedb.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM kf_bindings WHERE chat_key = ?`, chatKey)
		return err
	})
	if err != nil {
		return fmt.Errorf("unbind: %w", err)
	}
	return nil
}

// Lookup returns the customer id chatKey is bound to; ok is false when it
// is not bound.
func (b *Bindings) Lookup(ctx context.Context, chatKey string) (customerID string, ok bool, err error) {
	err = b.db.QueryRowContext(ctx, `SELECT customer_id FROM kf_bindings WHERE chat_key = ?`, chatKey).
		Scan(&customerID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("look up binding: %w", err)
	}
	return customerID, true, nil
}

func checkBindingKey(chatKey string) error {
	switch {
	case strings.TrimSpace(chatKey) == "",
		chatKey == ChatKeyUIN:
		return fmt.Errorf("%w: empty chat key", ErrInvalidBinding)
	case chatKey != strings.TrimSpace(chatKey):
		return fmt.Errorf("%w: chat key %q has surrounding spaces", ErrInvalidBinding, chatKey)
	}
	return nil
}
