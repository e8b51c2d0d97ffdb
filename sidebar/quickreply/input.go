package quickreply

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// replyInputError is a value the agent can fix (an empty text, a name in
// use); the page shows its text.
type replyInputError struct{ field, reason string }

func (e *replyInputError) Error() string { return e.field + ": " + e.reason }

var variablePattern = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// cleanGroupName trims a group name and checks it.
func cleanGroupName(name string) (string, *replyInputError) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", &replyInputError{"name", "must not be empty"}
	case utf8.RuneCountInString(name) > maxGroupName:
		return "", &replyInputError{"name", fmt.Sprintf("must be at most %d characters", maxGroupName)}
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", &replyInputError{"name", "must be one line"}
	}
	return name, nil
}

// cleanReply trims a reply's title and text and checks them: the text
// must be non-empty and use only Variables.
func cleanReply(title, text string) (string, string, *replyInputError) {
	title, text = strings.TrimSpace(title), strings.TrimSpace(text)
	switch {
	case utf8.RuneCountInString(title) > maxReplyTitle:
		return "", "", &replyInputError{"title", fmt.Sprintf("must be at most %d characters", maxReplyTitle)}
	case strings.IndexFunc(title, unicode.IsControl) >= 0:
		return "", "", &replyInputError{"title", "must be one line"}
	case text == "":
		return "", "", &replyInputError{"text", "must not be empty"}
	case utf8.RuneCountInString(text) > maxReplyText:
		return "", "", &replyInputError{"text", fmt.Sprintf("must be at most %d characters", maxReplyText)}
	}
	for _, m := range variablePattern.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(Variables, m[1]) {
			return "", "", &replyInputError{"text", fmt.Sprintf("unknown variable %s; use one of {%s}",
				m[0], strings.Join(Variables, "} {"))}
		}
	}
	return title, text, nil
}

// errNotFoundLocal is an edit of a group or reply that no longer exists
// (deleted in another tab).
var errNotFoundLocal = errors.New("no longer exists; reload the page")
