package chats

import (
	"strings"
	"time"
)

// liveLocked returns the live entries among ids.
func (s *Sessions) liveLocked(ids map[string]struct{}, cutoff time.Time) []*sessionEntry {
	var out []*sessionEntry
	for id := range ids {
		if e := s.byOpenID[id]; e != nil && e.rec.SeenAt.After(cutoff) {
			out = append(out, e)
		}
	}
	return out
}

// indexLocked adds e to the secondary indexes.
func (s *Sessions) indexLocked(e *sessionEntry) {
	id := e.rec.OpenID
	addToIndex(s.byAvatar, e.avatarKey, id)
	addToIndex(s.byUIN, strings.TrimSpace(e.rec.FansUIN), id)
	addToIndex(s.byNick, e.nick, id)
}

// unindexLocked removes e from the secondary indexes.
func (s *Sessions) unindexLocked(e *sessionEntry) {
	id := e.rec.OpenID
	removeFromIndex(s.byAvatar, e.avatarKey, id)
	removeFromIndex(s.byUIN, strings.TrimSpace(e.rec.FansUIN), id)
	removeFromIndex(s.byNick, e.nick, id)
}

// addToIndex adds id under key; an empty key is not indexed.
func addToIndex(idx map[string]map[string]struct{}, key, id string) {
	if key == "" {
		return
	}
	set := idx[key]
	if set == nil {
		set = make(map[string]struct{}, 1)
		idx[key] = set
	}
	set[id] = struct{}{}
}

// removeFromIndex removes id from under key, dropping emptied sets.
func removeFromIndex(idx map[string]map[string]struct{}, key, id string) {
	set := idx[key]
	if set == nil {
		return
	}
	delete(set, id)
	if len(set) == 0 {
		delete(idx, key)
	}
}
