package templates

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"sync"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/store"
)

// Buckets of the template store.
const (
	// BucketVersions holds every uploaded template version: store.Prefix(id) followed by the
	// version as 8 big-endian bytes -> the version's record with its canonical JSON source, so
	// that a prefix scan on an id yields its versions in order.
	BucketVersions store.Bucket = "tpl_versions"
)

// Record is one version of a template as the store keeps it: who made it and when, the SHA-256
// of its canonical JSON (version set to 0, so that equal layouts have equal hashes), and, from
// Get, the parsed template. Built-in templates are version 1 (their JSON's version) of their
// ids; they are served from the embedded files and never stored.
type Record struct {
	ID        string    `json:"id"`
	Version   int       `json:"version"`
	Name      string    `json:"name"`
	Builtin   bool      `json:"builtin"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	CreatedBy string    `json:"created_by,omitempty"` // username of the uploader
	SHA256    string    `json:"sha256"`
	Template  *Template `json:"template,omitempty"` // set by Get, nil in List and Versions
}

// stored is a Record as written to BucketVersions.
type stored struct {
	Record
	Source json.RawMessage `json:"source"`
}

// idRE is what a template id may look like: it appears in URLs, keys and licence types.
var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// ValidID reports whether id is an acceptable template id: 1 to 64 lower-case ASCII letters,
// digits and hyphens, starting with a letter or digit.
func ValidID(id string) bool { return idRE.MatchString(id) }

type cacheKey struct {
	id      string
	version int
}

// Store keeps templates by id and version. Versions are immutable: uploading a template makes
// the next version of its id. Parsed and validated templates are cached per (id, version) for
// the life of the process, so rendering never parses JSON per document. A Store is safe for use
// by any number of goroutines.
type Store struct {
	db    *store.DB
	clock certseal.Clock
	cache sync.Map // cacheKey -> Record (with Template)
}

// NewStore returns a Store over db that dates uploads with clock (the system clock if nil). It
// never fails.
func NewStore(db *store.DB, clock certseal.Clock) *Store {
	if clock == nil {
		clock = certseal.SystemClock{}
	}
	return &Store{db: db, clock: clock}
}

func versionKey(id string, version int) []byte {
	return append(store.Prefix(id), store.U64(uint64(version))...)
}

// canonical returns the canonical JSON of t with the given version, and the SHA-256 of the
// canonical JSON with version 0.
func canonical(t *Template, version int) (src []byte, sum string, err error) {
	c := *t
	c.Version = 0
	raw, err := json.Marshal(&c)
	if err != nil {
		return nil, "", err
	}
	h := sha256.Sum256(raw)
	c.Version = version
	src, err = json.Marshal(&c)
	return src, hex.EncodeToString(h[:]), err
}

var builtinRecords = sync.OnceValue(func() map[string]Record {
	m := make(map[string]Record, len(builtins))
	for _, t := range builtins {
		_, sum, err := canonical(t, t.Version)
		if err != nil {
			panic(fmt.Sprintf("built-in template %s: %v", t.ID, err))
		}
		m[t.ID] = Record{ID: t.ID, Version: t.Version, Name: t.Name, Builtin: true, SHA256: sum, Template: t}
	}
	return m
})

// Upload validates the JSON template data and stores it as the next version of its id, with an
// audit event in the same transaction. The template's "version" may be left out (or 0); if it is
// given it must be the next version, so that two administrators editing the same template do not
// silently overwrite each other's intent. A template with a sample (Template.Sample) must also
// lay the sample out. Nothing is written when anything fails. It returns the new version's
// Record (with Template), or a *certseal.Error: EInvalid with a Chinese message for malformed
// JSON, a bad id or a template that fails Validate (overlapping boxes, boxes off the page, ...)
// or cannot lay out its sample; EConflict when the version given is not the next one or the
// template is the same as the latest version.
func (s *Store) Upload(ctx context.Context, actor certseal.Actor, data []byte) (Record, error) {
	return s.upload(ctx, actor, data, "")
}

// upload is Upload, linking the new version to the stored scan of SHA-256 scan (hex) in the
// same transaction when scan is not empty (UploadWithScan).
func (s *Store) upload(ctx context.Context, actor certseal.Actor, data []byte, scan string) (Record, error) {
	t, err := decode(data)
	if err != nil {
		return Record{}, err
	}
	if !ValidID(t.ID) {
		return Record{}, invalid("模板编号“%s”无效：应为1至64个小写字母、数字或连字符，以字母或数字开头", t.ID).WithDetail("field", "id")
	}
	asked := t.Version
	if asked < 0 {
		return Record{}, invalid("模板“%s”的版本号不能为负数", t.ID).WithDetail("field", "version")
	}
	if t.Version == 0 {
		t.Version = 1 // Validate wants a positive version; the real one is set below
	}
	if err := t.Validate(); err != nil {
		return Record{}, err
	}
	if t.Sample != nil {
		d := t.SampleDocument()
		if _, err := (&Renderer{}).Layout(t, d); err != nil {
			var e *certseal.Error
			if errors.As(err, &e) && e.Code == certseal.EInvalid {
				return Record{}, invalid("模板“%s”的样例数据无法排版：%s", t.ID, e.Message).WithDetail("sample", true).WithDetail("field", e.Detail["field"])
			}
			return Record{}, err
		}
	}
	_, sum, err := canonical(t, 0)
	if err != nil {
		return Record{}, err
	}
	now := s.clock.Now()
	var rec Record
	err = s.db.Update(func(tx *store.Tx) error {
		latest, err := s.latestTx(tx, t.ID)
		if err != nil {
			return err
		}
		next := latest.Version + 1
		if asked != 0 && asked != next {
			return certseal.Errorf(certseal.EConflict, "模板“%s”的下一个版本应为%d，上传的是版本%d", t.ID, next, asked).
				WithDetail("next_version", next)
		}
		if latest.Version > 0 && latest.SHA256 == sum {
			return certseal.Errorf(certseal.EConflict, "模板“%s”与其版本%d完全相同，无需上传", t.ID, latest.Version).
				WithDetail("version", latest.Version)
		}
		t.Version = next
		src, _, err := canonical(t, next)
		if err != nil {
			return err
		}
		rec = Record{ID: t.ID, Version: next, Name: t.Name, CreatedAt: now.UTC(), CreatedBy: actor.Username, SHA256: sum}
		if err := tx.PutJSON(BucketVersions, versionKey(t.ID, next), stored{Record: rec, Source: src}); err != nil {
			return err
		}
		if scan != "" {
			if err := linkScanTx(tx, t.ID, next, scan); err != nil {
				return err
			}
		}
		rec.Template = t
		tx.OnCommit(func() { s.cache.Store(cacheKey{t.ID, next}, rec) })
		ev := map[string]any{"id": t.ID, "version": next, "name": t.Name, "sha256": sum}
		if scan != "" {
			ev["scan_sha256"] = scan
		}
		return audit.Append(tx, now, actor, "template.upload", fmt.Sprintf("template/%s/%d", t.ID, next), ev)
	})
	if err != nil {
		return Record{}, err
	}
	return rec, nil
}

// latestTx returns the latest version's record of id (without Template): the last stored
// version, else the built-in one, else a zero Record.
func (s *Store) latestTx(tx *store.Tx, id string) (Record, error) {
	var rec Record
	err := tx.ScanReverse(BucketVersions, store.Prefix(id), nil, func(_, v []byte) error {
		var st stored
		if err := json.Unmarshal(v, &st); err != nil {
			return err
		}
		rec = st.Record
		return store.ErrStop
	})
	if err != nil {
		return Record{}, fmt.Errorf("template %s: %w", id, err)
	}
	if rec.Version == 0 {
		if b, ok := builtinRecords()[id]; ok {
			b.Template = nil
			return b, nil
		}
	}
	return rec, nil
}

func notFound(id string, version int) error {
	if version == 0 {
		return certseal.Errorf(certseal.ENotFound, "模板“%s”不存在", id).WithDetail("id", id)
	}
	return certseal.Errorf(certseal.ENotFound, "模板“%s”没有版本%d", id, version).WithDetail("id", id).WithDetail("version", version)
}

// Get returns version version of template id (0: the latest version), parsed and validated,
// with its record. Templates come from a per-process cache after their first use; the returned
// Template is shared and must not be modified. It returns a *certseal.Error with code ENotFound
// when there is no such template or version, EInvalid for a negative version, and an error with
// code EInternal when a stored version can no longer be parsed.
func (s *Store) Get(ctx context.Context, id string, version int) (Record, error) {
	if version < 0 {
		return Record{}, invalid("模板版本号应为正整数").WithDetail("version", version)
	}
	if version > 0 {
		if r, ok := s.cache.Load(cacheKey{id, version}); ok {
			return r.(Record), nil
		}
	}
	var st stored
	found := false
	err := s.db.View(func(tx *store.Tx) error {
		if version == 0 {
			latest, err := s.latestTx(tx, id)
			if err != nil {
				return err
			}
			version = latest.Version
			if version == 0 {
				return nil
			}
			if r, ok := s.cache.Load(cacheKey{id, version}); ok {
				st.Record, found = r.(Record), true
				return nil
			}
		}
		ok, err := tx.GetJSON(BucketVersions, versionKey(id, version), &st)
		found = ok
		return err
	})
	if err != nil {
		return Record{}, err
	}
	if found && st.Template != nil {
		return st.Record, nil
	}
	if !found {
		if b, ok := builtinRecords()[id]; ok && b.Version == version {
			return b, nil
		}
		return Record{}, notFound(id, version)
	}
	t, err := Parse(st.Source)
	if err != nil {
		return Record{}, certseal.Errorf(certseal.EInternal, "已保存的模板“%s”版本%d无法解析", id, version).WithDetail("reason", err.Error())
	}
	rec := st.Record
	rec.Template = t
	actual, _ := s.cache.LoadOrStore(cacheKey{id, version}, rec)
	return actual.(Record), nil
}

// Template returns the parsed template id at version (0: the latest); it is Get without the
// record, for renderers. It fails as Get does.
func (s *Store) Template(ctx context.Context, id string, version int) (*Template, error) {
	r, err := s.Get(ctx, id, version)
	return r.Template, err
}

// List returns the latest version of every template, built-in and uploaded, sorted by id, with
// Template nil. It returns an error only when the database cannot be read.
func (s *Store) List(ctx context.Context) ([]Record, error) {
	latest := map[string]Record{}
	for id, b := range builtinRecords() {
		b.Template = nil
		latest[id] = b
	}
	err := s.db.View(func(tx *store.Tx) error {
		return tx.Scan(BucketVersions, nil, nil, func(_, v []byte) error {
			var st stored
			if err := json.Unmarshal(v, &st); err != nil {
				return err
			}
			latest[st.ID] = st.Record // keys are in version order within an id
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(latest))
	for _, r := range latest {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Versions returns every version of template id, oldest first, with Template nil. It returns a
// *certseal.Error with code ENotFound when the id has no version.
func (s *Store) Versions(ctx context.Context, id string) ([]Record, error) {
	var out []Record
	if b, ok := builtinRecords()[id]; ok {
		b.Template = nil
		out = append(out, b)
	}
	err := s.db.View(func(tx *store.Tx) error {
		return tx.Scan(BucketVersions, store.Prefix(id), nil, func(_, v []byte) error {
			var st stored
			if err := json.Unmarshal(v, &st); err != nil {
				return err
			}
			out = append(out, st.Record)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, notFound(id, 0)
	}
	return out, nil
}

// Source returns the canonical JSON of version version of template id (0: the latest), for
// copying into a new version. It fails as Get does.
func (s *Store) Source(ctx context.Context, id string, version int) ([]byte, error) {
	r, err := s.Get(ctx, id, version)
	if err != nil {
		return nil, err
	}
	src, _, err := canonical(r.Template, r.Version)
	return src, err
}
