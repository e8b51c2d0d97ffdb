package quickreply

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/kfsidebar/kfsidebar/internal/jsonrecord"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
	"github.com/kfsidebar/kfsidebar/internal/textfile"
)

// sectionGroups is the ImportError.Section of a bad quick reply group.
const sectionGroups = "groups"

// maxReplyFile bounds an import file: thousands of replies fit in far less.
const maxReplyFile = 8 << 20

// replyFile is the import and export format:
//
//	{"groups": [{"name": "售后常用", "replies": [{"title": "物流查询", "text": "您的订单{order_no}…"}]}]}
type replyFile struct {
	Groups []json.RawMessage `json:"groups"`
}

type replyGroupRecord struct {
	Name    string            `json:"name"`
	Replies []json.RawMessage `json:"replies"`
}

type replyRecord struct {
	Title string `json:"title,omitempty"`
	Text  string `json:"text"`
}

// Import adds the groups and replies of a file in the Export format to the
// local ones: a group is matched by name (and created at the end when
// new), and a reply that its group already has, same title and text, is
// skipped, so importing a file twice changes nothing. It returns how many
// replies were added. The file is checked entirely before anything is
// written and written in one transaction: all of it or none. A bad record
// is a *jsonrecord.ImportError naming it, e.g. groups[1].replies[3].text;
// unknown keys are errors too (a misspelt "txet" must not import as empty).
// While an orders import holds the database, Import waits importWait, as
// an edit on the page does, then fails with a *sqlitedb.BusyError and
// adds nothing.
func (q *Store) Import(ctx context.Context, r io.Reader) (int, error) {
	res, err := q.ImportFile(ctx, r)
	return res.Added, err
}

// ImportResult is what ImportFile did.
type ImportResult struct {
	// Added is how many replies were added.
	Added int
	// Note says how the file was read when it was not plain UTF-8 (a GBK
	// file converted), for the user; "" otherwise.
	Note string
}

// ImportFile is Import for a file as a person saved it: a UTF-8 BOM is
// dropped and a GBK/GB18030 or UTF-16 file is converted (package
// textfile), which Note says; a file in no encoding kfsidebar knows is an
// *ImportError saying how to save it as UTF-8.
func (q *Store) ImportFile(ctx context.Context, r io.Reader) (ImportResult, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxReplyFile+1))
	if err != nil {
		return ImportResult{}, fmt.Errorf("import quick replies: read: %w", err)
	}
	if len(raw) > maxReplyFile {
		return ImportResult{}, &jsonrecord.ImportError{Reason: fmt.Sprintf("the file is larger than %d MiB; is it a quick reply export?", maxReplyFile>>20)}
	}
	data, info, err := textfile.Decode(raw, textfile.Auto)
	if err != nil {
		return ImportResult{}, &jsonrecord.ImportError{Reason: err.Error()}
	}
	added, err := q.importReplies(ctx, data)
	return ImportResult{Added: added, Note: info.Describe()}, err
}

// importReplies is Import's work on the file's text.
func (q *Store) importReplies(ctx context.Context, data []byte) (int, error) {
	groups, err := parseReplyFile(data)
	if err != nil {
		return 0, err
	}
	added, created := 0, 0
	err = q.editTx(ctx, func(tx sqlitedb.Tx) error {
		added, created = 0, 0
		for _, g := range groups {
			var id int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM kf_quick_reply_groups WHERE name = ?`, g.name).Scan(&id)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if id, err = insertGroup(ctx, tx, g.name); err != nil {
					return err
				}
				created++
			case err != nil:
				return err
			}
			for _, r := range g.replies {
				var dup int
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM kf_quick_replies
WHERE group_id = ? AND title = ? AND text = ?`, id, r.Title, r.Text).Scan(&dup); err != nil {
					return err
				}
				if dup > 0 {
					continue
				}
				if _, err := insertReply(ctx, tx, id, r.Title, r.Text); err != nil {
					return err
				}
				added++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("import quick replies: %w", err)
	}
	if added > 0 || created > 0 {
		q.notify()
	}
	return added, nil
}

// parsedGroup is one checked group of an import file.
type parsedGroup struct {
	name    string
	replies []replyRecord
}

// parseReplyFile checks a whole import file; the first problem is an
// *ImportError.
func parseReplyFile(data []byte) ([]parsedGroup, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &jsonrecord.ImportError{Reason: `the file is empty; expected a JSON object like {"groups": [...]}`}
	}
	var syntax any
	if err := json.Unmarshal(data, &syntax); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, &jsonrecord.ImportError{Reason: fmt.Sprintf("invalid JSON at byte %d: %v", syn.Offset, syn)}
		}
		return nil, &jsonrecord.ImportError{Reason: "invalid JSON: " + err.Error()}
	}
	var file replyFile
	if e := jsonrecord.Decode(data, &file); e != nil {
		if e.Field == "" {
			e.Reason = `the file must be one JSON object like {"groups": [...]}: ` + e.Reason
		}
		return nil, &jsonrecord.ImportError{Field: e.Field, Reason: e.Reason}
	}
	if file.Groups == nil {
		return nil, &jsonrecord.ImportError{Field: sectionGroups, Reason: `missing; the file must look like {"groups": [...]}`}
	}
	groups := make([]parsedGroup, 0, len(file.Groups))
	seen := map[string]int{}
	for i, raw := range file.Groups {
		fail := func(e *jsonrecord.FieldError) error {
			return &jsonrecord.ImportError{Section: sectionGroups, Index: i, Field: e.Field, Reason: e.Reason}
		}
		var rec replyGroupRecord
		if e := jsonrecord.Decode(raw, &rec); e != nil {
			return nil, fail(e)
		}
		name, bad := cleanGroupName(rec.Name)
		if bad != nil {
			return nil, fail(&jsonrecord.FieldError{Field: "name", Reason: bad.reason})
		}
		if j, ok := seen[name]; ok {
			return nil, fail(jsonrecord.Errorf("name", "%q is also the name of groups[%d]; put its replies in one group", name, j))
		}
		seen[name] = i
		g := parsedGroup{name: name}
		for j, rawReply := range rec.Replies {
			path := fmt.Sprintf("replies[%d]", j)
			var r replyRecord
			if e := jsonrecord.Decode(rawReply, &r); e != nil {
				return nil, fail(e.Within(path))
			}
			title, text, bad := cleanReply(r.Title, r.Text)
			if bad != nil {
				return nil, fail(&jsonrecord.FieldError{Field: path + "." + bad.field, Reason: bad.reason})
			}
			g.replies = append(g.replies, replyRecord{Title: title, Text: text})
		}
		groups = append(groups, g)
	}
	return groups, nil
}

// Export writes the local groups in the format Import reads, indented for
// a person to read and edit. The console's group is left out: it belongs
// to the console, which sends it again.
func (q *Store) Export(ctx context.Context, w io.Writer) error {
	local, err := q.localGroups(ctx)
	if err != nil {
		return fmt.Errorf("export quick replies: %w", err)
	}
	type group struct {
		Name    string        `json:"name"`
		Replies []replyRecord `json:"replies"`
	}
	out := struct {
		Groups []group `json:"groups"`
	}{Groups: make([]group, 0, len(local))}
	for _, g := range local {
		eg := group{Name: g.Name, Replies: make([]replyRecord, 0, len(g.Replies))}
		for _, r := range g.Replies {
			eg.Replies = append(eg.Replies, replyRecord{Title: r.Title, Text: r.Text})
		}
		out.Groups = append(out.Groups, eg)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("export quick replies: %w", err)
	}
	return nil
}
