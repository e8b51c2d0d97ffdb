package shopsql

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// SQL drivers, as Open and New name them.
const (
	DriverPostgres = "postgres"
	DriverMySQL    = "mysql" // MySQL and MariaDB
)

// Open opens the shop's database: driver is DriverPostgres (pgx) or
// DriverMySQL (go-sql-driver/mysql, for MariaDB too); password, when not
// empty, replaces the one in the DSN (so it can come from the
// environment). Values are always bound on the server (no client-side
// interpolation, no multi-statements), and MySQL times are read as text
// so that TimeZone applies. The pool is small: a lookup needs one
// connection for a few milliseconds.
func Open(driver, dsn, password string) (*sql.DB, error) {
	var db *sql.DB
	switch driver {
	case DriverPostgres:
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("dsn: not a PostgreSQL connection string like postgres://kfsidebar@db.shop.lan:5432/shop?sslmode=verify-full (%s)", redactDSN(err.Error(), password))
		}
		if password != "" {
			cfg.Password = password
		}
		if cfg.ConnectTimeout == 0 {
			cfg.ConnectTimeout = 5 * time.Second
		}
		db = stdlib.OpenDB(*cfg)
	case DriverMySQL:
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return nil, fmt.Errorf("dsn: not a MySQL/MariaDB DSN like kfsidebar@tcp(db.shop.lan:3306)/shop (%s)", redactDSN(err.Error(), password))
		}
		if password != "" {
			cfg.Passwd = password
		}
		if cfg.Timeout == 0 {
			cfg.Timeout = 5 * time.Second
		}
		cfg.ParseTime, cfg.InterpolateParams, cfg.MultiStatements = false, false, false
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, fmt.Errorf("dsn: %s", redactDSN(err.Error(), password))
		}
		db = sql.OpenDB(conn)
	default:
		return nil, fmt.Errorf("driver %q: want %q or %q (also for MariaDB)", driver, DriverPostgres, DriverMySQL)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(2)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(30 * time.Minute)
	return db, nil
}

func redactDSN(msg, password string) string {
	if password == "" {
		return msg
	}
	return strings.ReplaceAll(msg, password, "xxxxx")
}
