package store

import (
	"fmt"
	"strconv"
)

// Meta is the bucket of the database's own settings (schema version and the like).
const Meta Bucket = "meta"

var keySchema = []byte("schema_version")

// Migration brings a database from version To-1 to To. Up runs inside the write transaction that
// also records the new version, so a failed migration leaves the database as it was.
type Migration struct {
	To   int
	Name string
	Up   func(tx *Tx) error
}

// Migrations are the schema steps in order. A new release appends to this list; it never edits a
// step that has shipped.
var Migrations = []Migration{
	{To: 1, Name: "initial schema", Up: func(tx *Tx) error {
		for _, b := range []Bucket{Meta} {
			if err := tx.e.createBucket(b); err != nil {
				return err
			}
		}
		return nil
	}},
}

// SchemaVersion is the version this program's schema is at.
func SchemaVersion() int { return Migrations[len(Migrations)-1].To }

// Version returns the database's schema version (0 for a new database).
func (t *Tx) Version() int {
	v := t.Get(Meta, keySchema)
	n, _ := strconv.Atoi(string(v))
	return n
}

func (db *DB) checkVersion() error {
	return db.View(func(tx *Tx) error {
		if v := tx.Version(); v > SchemaVersion() {
			return fmt.Errorf("the database schema is version %d, newer than this program's %d: upgrade certseal", v, SchemaVersion())
		}
		return nil
	})
}

func (db *DB) migrate() error {
	if err := db.checkVersion(); err != nil {
		return err
	}
	return Migrate(db, Migrations)
}

// Migrate applies, in order and one transaction each, the steps of ms that are newer than the
// database's version. It is exported for tests of migrations.
func Migrate(db *DB, ms []Migration) error {
	var v int
	db.View(func(tx *Tx) error { v = tx.Version(); return nil })
	for _, m := range ms {
		if v >= m.To {
			continue // up to date: opening the database writes nothing
		}
		err := db.Update(func(tx *Tx) error {
			if tx.Version() >= m.To {
				return nil
			}
			if tx.Version() != m.To-1 {
				return fmt.Errorf("migration %d (%s): database is at version %d", m.To, m.Name, tx.Version())
			}
			if err := m.Up(tx); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.To, m.Name, err)
			}
			return tx.Put(Meta, keySchema, []byte(strconv.Itoa(m.To)))
		})
		if err != nil {
			return err
		}
	}
	return nil
}
