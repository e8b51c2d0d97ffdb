package autostart

import (
	"strings"
)

// The Windows Run key, written and read here through an interface on
// every platform (the tests run everywhere, with a map); autostart_windows.go
// is the real registry.

const (
	// runKeyPath holds one value per program started at login.
	runKeyPath = `Software\Microsoft\Windows\CurrentVersion\Run`
	// approvedKeyPath holds Task Manager's Startup switch for each value
	// of the Run key: 12 bytes whose first byte is even (2) when enabled,
	// odd (3) when the user disabled it; no value means enabled.
	approvedKeyPath = `Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run`
)

// enabledApproval is the StartupApproved value Task Manager writes when
// the user enables an entry: 2, then zeros where a disable's time goes.
var enabledApproval = []byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

// registryKey is one registry key, as the Run key needs it.
type registryKey interface {
	getString(name string) (v string, ok bool, err error)
	setString(name, v string) error
	getBinary(name string) (v []byte, ok bool, err error)
	setBinary(name string, v []byte) error
	deleteValue(name string) (existed bool, err error)
}

// runKey is the Run key and the StartupApproved key beside it; where
// names them for a person.
type runKey struct {
	run, approved registryKey
	where         string
}

// runCommand is the Run value for e: the program's path always in quotes
// (a path with spaces, unquoted, may start C:\Program.exe), then the
// arguments, quoted as Windows programs parse them.
func runCommand(e Entry) string {
	var b strings.Builder
	b.WriteString(`"` + e.Exe + `"`)
	for _, a := range e.Args {
		b.WriteString(" " + windowsArg(a))
	}
	return b.String()
}

// firstWindowsArg is the program a Run value starts: the quoted path, or
// the text up to the first space.
func firstWindowsArg(cmd string) string {
	cmd = strings.TrimSpace(cmd)
	if rest, ok := strings.CutPrefix(cmd, `"`); ok {
		if i := strings.IndexByte(rest, '"'); i >= 0 {
			return rest[:i]
		}
		return rest
	}
	if i := strings.IndexAny(cmd, " \t"); i >= 0 {
		return cmd[:i]
	}
	return cmd
}

func (k runKey) enable(e Entry) (Status, error) {
	if err := k.run.setString(e.Name, runCommand(e)); err != nil {
		return Status{}, err
	}
	// The user turned it off in Task Manager before; asking again is
	// the newer choice.
	if v, ok, err := k.approved.getBinary(e.Name); err == nil && ok && approvalDisabled(v) {
		if err := k.approved.setBinary(e.Name, enabledApproval); err != nil {
			return Status{}, err
		}
	}
	return k.status(e.Name)
}

func (k runKey) disable(name string) ([]string, error) {
	existed, err := k.run.deleteValue(name)
	if err != nil {
		return nil, err
	}
	if _, err := k.approved.deleteValue(name); err != nil {
		return nil, err
	}
	if !existed {
		return nil, nil
	}
	return []string{k.where + `\` + name}, nil
}

func (k runKey) status(name string) (Status, error) {
	cmd, ok, err := k.run.getString(name)
	if err != nil || !ok {
		return Status{}, err
	}
	st := Status{Kind: RunKey, Where: k.where + `\` + name, Command: cmd, Program: firstWindowsArg(cmd), Enabled: true}
	if v, ok, err := k.approved.getBinary(name); err == nil && ok && approvalDisabled(v) {
		st.Enabled, st.DisabledBy = false, "Task Manager"
	}
	return st, nil
}

func (k runKey) check(name string) ([]Status, error) {
	st, err := k.status(name)
	if err != nil || st.Kind == "" {
		return nil, err
	}
	return []Status{st}, nil
}

// approvalDisabled reads Task Manager's switch: an odd first byte.
func approvalDisabled(v []byte) bool { return len(v) > 0 && v[0]&1 == 1 }

// windowsArg quotes one argument the way Windows programs split their
// command line (CommandLineToArgvW): in double quotes when it has a space,
// a tab or a quote, with the backslashes before a quote doubled.
func windowsArg(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	slashes := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			slashes++
		case '"':
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(s[i])
	}
	b.WriteString(strings.Repeat(`\`, slashes))
	b.WriteByte('"')
	return b.String()
}
