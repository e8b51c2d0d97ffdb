package autostart

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The XDG autostart entry and the systemd user unit are plain files,
// written and read here on every platform (the tests run everywhere);
// only Linux and the BSDs use them.

// xdgConfigHome is $XDG_CONFIG_HOME, else ~/.config.
func xdgConfigHome(opts Options) (string, error) {
	if opts.ConfigDir != "" {
		return opts.ConfigDir, nil
	}
	if d := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("autostart: %w", err)
	}
	return filepath.Join(home, ".config"), nil
}

func desktopPath(config, name string) string {
	return filepath.Join(config, "autostart", name+".desktop")
}

func unitPath(config, name string) string {
	return filepath.Join(config, "systemd", "user", name+".service")
}

// wantsLink is what `systemctl --user enable` makes: the unit's link in
// default.target.wants, which systemd follows at the user's first login.
func wantsLink(config, name string) string {
	return filepath.Join(config, "systemd", "user", "default.target.wants", name+".service")
}

// desktopEntry is the XDG autostart entry (Desktop Entry Specification
// 1.5, Desktop Application Autostart Specification).
func desktopEntry(e Entry) string {
	var b strings.Builder
	b.WriteString("[Desktop Entry]\nType=Application\n")
	fmt.Fprintf(&b, "Name=%s\n", desktopString(e.Title))
	if e.TitleZH != "" {
		fmt.Fprintf(&b, "Name[zh_CN]=%s\n", desktopString(e.TitleZH))
	}
	if e.Comment != "" {
		fmt.Fprintf(&b, "Comment=%s\n", desktopString(e.Comment))
	}
	if e.CommentZH != "" {
		fmt.Fprintf(&b, "Comment[zh_CN]=%s\n", desktopString(e.CommentZH))
	}
	fmt.Fprintf(&b, "Exec=%s\n", desktopExec(append([]string{e.Exe}, e.Args...)))
	b.WriteString("Terminal=false\nX-GNOME-Autostart-enabled=true\n")
	return b.String()
}

// desktopString escapes a value of type string or localestring.
func desktopString(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\t", `\t`, "\r", `\r`).Replace(s)
}

// desktopExec writes an Exec key's value: every argument with a reserved
// character in double quotes, with ", `, $ and \ escaped inside them; %
// doubled (field codes); then the escapes of a string value on top, which
// doubles every backslash once more.
func desktopExec(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		a = strings.ReplaceAll(a, "%", "%%")
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\><~|&;$*?#()`") {
			a = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "`", "\\`", `$`, `\$`).Replace(a) + `"`
		}
		quoted[i] = a
	}
	return desktopString(strings.Join(quoted, " "))
}

// splitDesktopExec reads an Exec value back into arguments (the inverse of
// desktopExec, and what a desktop does with one written by hand).
func splitDesktopExec(v string) ([]string, error) {
	// The string escapes first: \\ → \, \s → space, …
	var un strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
			switch v[i] {
			case 's':
				un.WriteByte(' ')
			case 'n':
				un.WriteByte('\n')
			case 't':
				un.WriteByte('\t')
			case 'r':
				un.WriteByte('\r')
			default:
				un.WriteByte(v[i])
			}
			continue
		}
		un.WriteByte(v[i])
	}
	s := un.String()
	var args []string
	var cur strings.Builder
	inArg, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case quoted && c == '"':
			quoted = false
		case !quoted && c == '"':
			quoted, inArg = true, true
		case !quoted && (c == ' ' || c == '\t'):
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		case c == '%' && i+1 < len(s) && s[i+1] == '%':
			i++
			cur.WriteByte('%')
			inArg = true
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote in Exec=%s", v)
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

// readDesktopEntry reads the keys of an entry's [Desktop Entry] group.
func readDesktopEntry(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	keys := map[string]string{}
	group := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			group = strings.Trim(line, "[]")
		case group == "Desktop Entry":
			if k, v, ok := strings.Cut(line, "="); ok {
				keys[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	return keys, sc.Err()
}

// desktopStatus reads the XDG autostart entry at path.
func desktopStatus(path string) (Status, error) {
	keys, err := readDesktopEntry(path)
	if err != nil {
		return Status{}, err
	}
	st := Status{Kind: XDGAutostart, Where: path, Command: keys["Exec"], Enabled: true}
	if args, err := splitDesktopExec(keys["Exec"]); err == nil && len(args) > 0 {
		st.Program = args[0]
	}
	if keys["Hidden"] == "true" || keys["X-GNOME-Autostart-enabled"] == "false" {
		st.Enabled, st.DisabledBy = false, "the desktop's startup applications"
	}
	return st, nil
}

// systemdUnit is the user unit for a machine without a desktop session:
// the proxy alone, restarted by systemd when it fails.
func systemdUnit(e Entry) string {
	var b strings.Builder
	desc := e.Title
	if e.Comment != "" {
		desc += ": " + e.Comment
	}
	fmt.Fprintf(&b, "[Unit]\nDescription=%s\n\n", unitEscape(desc))
	fmt.Fprintf(&b, "[Service]\nType=exec\nExecStart=%s\nRestart=on-failure\nRestartSec=5\n\n", unitExec(append([]string{e.Exe}, e.HeadlessArgs...)))
	b.WriteString("[Install]\nWantedBy=default.target\n")
	return b.String()
}

// unitEscape keeps a value from meaning a specifier (%).
func unitEscape(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// unitExec writes ExecStart: every argument in double quotes with C-style
// escapes, % doubled (specifiers) and $ doubled (variables).
func unitExec(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		a = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%", "$", "$$", "\n", `\n`, "\t", `\t`).Replace(a)
		quoted[i] = `"` + a + `"`
	}
	return strings.Join(quoted, " ")
}

// splitUnitExec reads an ExecStart value back into arguments.
func splitUnitExec(v string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inArg, quote := false, byte(0)
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && i+1 < len(v):
			i++
			switch v[i] {
			case 'n':
				cur.WriteByte('\n')
			case 't':
				cur.WriteByte('\t')
			default:
				cur.WriteByte(v[i])
			}
			inArg = true
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\''):
			quote, inArg = c, true
		case quote == 0 && (c == ' ' || c == '\t'):
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		case (c == '%' || c == '$') && i+1 < len(v) && v[i+1] == c:
			i++
			cur.WriteByte(c)
			inArg = true
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in ExecStart=%s", v)
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

// unitStatus reads the systemd user unit at path; it is enabled when
// default.target wants it.
func unitStatus(path, link string) (Status, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Status{}, err
	}
	st := Status{Kind: SystemdUser, Where: path}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "ExecStart="); ok {
			st.Command = v
			if args, err := splitUnitExec(v); err == nil && len(args) > 0 {
				st.Program = args[0]
			}
		}
	}
	if _, err := os.Stat(link); err == nil {
		st.Enabled = true
	} else {
		st.DisabledBy = "systemctl --user disable"
	}
	return st, nil
}
