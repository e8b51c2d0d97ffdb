package autostart

import (
	"encoding/xml"
	"slices"
	"strings"
	"testing"
)

// awkward are arguments a path or a flag may really hold: spaces
// (C:\Program Files, ~/My Apps), quotes, shell and desktop specials,
// Chinese user names.
var awkward = [][]string{
	{"/usr/bin/kfsidebar", "tray"},
	{"/home/张三/My Apps/kfsidebar", "tray", "--data-dir", "/home/张三/客服 数据"},
	{`/opt/we"ird/$HOME/100%/back\slash`, "--listen", "127.0.0.1:8787"},
	{"/tmp/a b", "", "`tick`", "semi;colon", "#hash", "it's"},
}

func TestDesktopExecRoundTrip(t *testing.T) {
	for _, args := range awkward {
		exec := desktopExec(args)
		got, err := splitDesktopExec(exec)
		if err != nil || !slices.Equal(got, args) {
			t.Errorf("Exec=%s reads back as %q (%v), want %q", exec, got, err, args)
		}
	}
	if got := desktopExec([]string{"/usr/bin/kfsidebar", "tray"}); got != "/usr/bin/kfsidebar tray" {
		t.Errorf("plain Exec = %s", got)
	}
}

func TestUnitExecRoundTrip(t *testing.T) {
	for _, args := range awkward {
		exec := unitExec(args)
		got, err := splitUnitExec(exec)
		if err != nil || !slices.Equal(got, args) {
			t.Errorf("ExecStart=%s reads back as %q (%v), want %q", exec, got, err, args)
		}
	}
}

// splitWindows splits a command line as CommandLineToArgvW does (the
// rules the Run key's consumer, and every C runtime, follow).
func splitWindows(cmd string) []string {
	var args []string
	var cur strings.Builder
	inArg, quoted := false, false
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		switch {
		case c == '\\':
			n := 0
			for i < len(cmd) && cmd[i] == '\\' {
				n++
				i++
			}
			if i < len(cmd) && cmd[i] == '"' {
				cur.WriteString(strings.Repeat(`\`, n/2))
				if n%2 == 1 {
					cur.WriteByte('"')
				} else {
					quoted = !quoted
				}
			} else {
				cur.WriteString(strings.Repeat(`\`, n))
				i--
			}
			inArg = true
		case c == '"':
			quoted, inArg = !quoted, true
		case !quoted && (c == ' ' || c == '\t'):
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args
}

func TestRunCommandQuotesThePath(t *testing.T) {
	for _, tt := range []struct {
		exe  string
		args []string
		want string
	}{
		{`C:\Users\张三\AppData\Local\Programs\kfsidebar\kfsidebarw.exe`, nil, `"C:\Users\张三\AppData\Local\Programs\kfsidebar\kfsidebarw.exe"`},
		{`C:\Program Files\kfsidebar\kfsidebar.exe`, []string{"tray", `C:\My Data\`, `say "hi"`}, `"C:\Program Files\kfsidebar\kfsidebar.exe" tray "C:\My Data\\" "say \"hi\""`},
	} {
		got := runCommand(Entry{Exe: tt.exe, Args: tt.args})
		if got != tt.want {
			t.Errorf("runCommand = %s\nwant %s", got, tt.want)
		}
		if back := splitWindows(got); !slices.Equal(back, append([]string{tt.exe}, tt.args...)) {
			t.Errorf("%s splits into %q", got, back)
		}
		if p := firstWindowsArg(got); p != tt.exe {
			t.Errorf("program %q", p)
		}
	}
}

// mapKey is a registry key in memory.
type mapKey struct {
	strs map[string]string
	bins map[string][]byte
}

func newMapKey() *mapKey { return &mapKey{strs: map[string]string{}, bins: map[string][]byte{}} }

func (m *mapKey) getString(n string) (string, bool, error) { v, ok := m.strs[n]; return v, ok, nil }
func (m *mapKey) setString(n, v string) error              { m.strs[n] = v; return nil }
func (m *mapKey) getBinary(n string) ([]byte, bool, error) { v, ok := m.bins[n]; return v, ok, nil }
func (m *mapKey) setBinary(n string, v []byte) error       { m.bins[n] = v; return nil }
func (m *mapKey) deleteValue(n string) (bool, error) {
	_, a := m.strs[n]
	_, b := m.bins[n]
	delete(m.strs, n)
	delete(m.bins, n)
	return a || b, nil
}

// TestRunKeyHonoursTaskManager: an entry the user disabled in Task
// Manager reads as off, saying who turned it off; enabling again turns
// Task Manager's switch back on; disabling leaves neither value.
func TestRunKeyHonoursTaskManager(t *testing.T) {
	run, approved := newMapKey(), newMapKey()
	k := runKey{run: run, approved: approved, where: `HKCU\` + runKeyPath}
	e := Entry{Name: "kfsidebar", Exe: `C:\kf\kfsidebarw.exe`}
	st, err := k.enable(e)
	if err != nil || !st.Enabled || st.Command != `"C:\kf\kfsidebarw.exe"` || st.Program != e.Exe {
		t.Fatalf("enable: %+v %v", st, err)
	}
	approved.bins["kfsidebar"] = []byte{3, 0, 0, 0, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x01}
	found, err := k.check("kfsidebar")
	if err != nil || len(found) != 1 || found[0].Enabled || found[0].DisabledBy != "Task Manager" || Enabled(found) {
		t.Fatalf("disabled in Task Manager: %+v %v", found, err)
	}
	if st, err := k.enable(e); err != nil || !st.Enabled || approved.bins["kfsidebar"][0] != 2 {
		t.Fatalf("enable again: %+v %v, approval % x", st, err, approved.bins["kfsidebar"])
	}
	removed, err := k.disable("kfsidebar")
	if err != nil || len(removed) != 1 || len(run.strs) != 0 || len(approved.bins) != 0 {
		t.Fatalf("disable: %q %v, left %v %v", removed, err, run.strs, approved.bins)
	}
	if found, err := k.check("kfsidebar"); err != nil || len(found) != 0 {
		t.Fatalf("after disable: %+v %v", found, err)
	}
}

func TestLaunchAgentPlist(t *testing.T) {
	e := Entry{Name: "kfsidebar", Exe: "/Applications/kfsidebar & co/kfsidebar", Args: []string{"tray", "<x>"}}
	plist := launchAgentPlist(e)
	dec := xml.NewDecoder(strings.NewReader(plist))
	for {
		if _, err := dec.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("not well-formed XML: %v\n%s", err, plist)
			}
			break
		}
	}
	for _, want := range []string{"<key>RunAtLoad</key>\n\t<true/>", "<key>SuccessfulExit</key>\n\t\t<false/>", "<string>com.github.kfsidebar</string>", "&amp; co", "&lt;x&gt;"} {
		if !strings.Contains(plist, want) {
			t.Errorf("plist lacks %s:\n%s", want, plist)
		}
	}
	args, disabled, err := plistArguments([]byte(plist))
	if err != nil || disabled || !slices.Equal(args, append([]string{e.Exe}, e.Args...)) {
		t.Fatalf("ProgramArguments read back %q %v %v", args, disabled, err)
	}
	off := strings.Replace(plist, "<key>RunAtLoad</key>", "<key>Disabled</key>\n\t<true/>\n\t<key>RunAtLoad</key>", 1)
	if _, disabled, _ := plistArguments([]byte(off)); !disabled {
		t.Fatal("Disabled key not read")
	}
}
