package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"

	_ "modernc.org/sqlite" // the "sqlite" driver, pure Go
)

// schema creates the service's tables. Each keys its rows on an ID that
// the client chose, so that writing a row again changes nothing.
const schema = `
CREATE TABLE IF NOT EXISTS events (
	id     TEXT PRIMARY KEY,
	kind   TEXT NOT NULL,
	class  TEXT NOT NULL,
	result TEXT NOT NULL,
	at     INTEGER NOT NULL -- Unix nanoseconds
);
CREATE TABLE IF NOT EXISTS job_effects (
	id       TEXT PRIMARY KEY,
	account  TEXT NOT NULL,
	amount   INTEGER NOT NULL,
	delivery INTEGER NOT NULL, -- the delivery that applied it
	replays  INTEGER NOT NULL DEFAULT 0 -- later runs that found it applied
);
CREATE TABLE IF NOT EXISTS balances (
	account TEXT PRIMARY KEY,
	balance INTEGER NOT NULL
);`

// store is the service's SQLite database.
type store struct {
	db *sql.DB

	eventsWritten, eventsReplayed atomic.Uint64 // rows inserted, inserts ignored
	jobsApplied, jobsReplayed     atomic.Uint64
}

// openStore opens (creating it if need be) the database at path. The
// journal is a write-ahead log, so that readers (another process) do not
// block the writer; synchronous=FULL makes a committed transaction survive
// a power loss, not only a crash of the process, since the stream is told
// a job is done once its transaction has committed. The service writes
// through one connection: SQLite has one writer at a time anyway, and
// writers queued in database/sql take their turn as soon as it is free,
// where writers on several connections would poll for SQLite's lock with
// growing sleeps. busy_timeout and BEGIN IMMEDIATE are for other
// processes that write to the file.
func openStore(ctx context.Context, path string) (*store, error) {
	if path == "" {
		return nil, errors.New("poolgen: jobsvc: no database path")
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("poolgen: jobsvc: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("poolgen: jobsvc: create the tables in %s: %w", path, err)
	}
	return &store{db: db}, nil
}

// close closes the database.
func (s *store) close() error { return s.db.Close() }

// saveEvents inserts events in one transaction, ignoring those whose ID
// is stored already.
func (s *store) saveEvents(ctx context.Context, events []Event) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO events (id, kind, class, result, at) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	var written uint64
	for _, e := range events {
		res, err := stmt.ExecContext(ctx, e.ID, e.Kind, e.Class, e.Result, e.At.UnixNano())
		if err != nil {
			return fmt.Errorf("event %s: %w", e.ID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		written += uint64(n)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.eventsWritten.Add(written)
	s.eventsReplayed.Add(uint64(len(events)) - written)
	return nil
}

// applyJob applies j's effect, crediting its amount to its account, in
// one transaction with the row that records it, unless that row exists:
// then it only counts the replay.
func (s *store) applyJob(ctx context.Context, j Job) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO job_effects (id, account, amount, delivery) VALUES (?, ?, ?, ?)`,
		j.ID, j.Account, j.Amount, j.delivery)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 1 {
		_, err = tx.ExecContext(ctx, `INSERT INTO balances (account, balance) VALUES (?, ?)
			ON CONFLICT (account) DO UPDATE SET balance = balance + excluded.balance`, j.Account, j.Amount)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE job_effects SET replays = replays + 1 WHERE id = ?`, j.ID)
	}
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if n == 1 {
		s.jobsApplied.Add(1)
	} else {
		s.jobsReplayed.Add(1)
	}
	return nil
}
