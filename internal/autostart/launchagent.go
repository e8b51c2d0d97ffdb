package autostart

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The LaunchAgent is a property list, written and read here on every
// platform (the tests run everywhere); only macOS uses it.

// launchLabel is the LaunchAgent's label, reverse-DNS as launchd wants.
func launchLabel(name string) string { return "com.github." + name }

// launchAgentsDir is ~/Library/LaunchAgents (opts.ConfigDir replaces
// ~/Library).
func launchAgentsDir(opts Options) (string, error) {
	lib := opts.ConfigDir
	if lib == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("autostart: %w", err)
		}
		lib = filepath.Join(home, "Library")
	}
	return filepath.Join(lib, "LaunchAgents"), nil
}

func launchAgentPath(opts Options, name string) (string, error) {
	dir, err := launchAgentsDir(opts)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, launchLabel(name)+".plist"), nil
}

// launchAgentPlist starts e at login (RunAtLoad) in the user's graphical
// session (Aqua), and again only when it failed (KeepAlive SuccessfulExit
// false: quitting the tray is not a failure). launchd is the supervisor:
// the program runs in the foreground and never forks itself away.
func launchAgentPlist(e Entry) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>`)
	xml.EscapeText(&b, []byte(launchLabel(e.Name)))
	b.WriteString("</string>\n\t<key>ProgramArguments</key>\n\t<array>\n")
	for _, a := range append([]string{e.Exe}, e.Args...) {
		b.WriteString("\t\t<string>")
		xml.EscapeText(&b, []byte(a))
		b.WriteString("</string>\n")
	}
	b.WriteString(`	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<dict>
		<key>SuccessfulExit</key>
		<false/>
	</dict>
	<key>LimitLoadToSessionType</key>
	<string>Aqua</string>
	<key>ProcessType</key>
	<string>Interactive</string>
</dict>
</plist>
`)
	return b.String()
}

// plistArguments reads ProgramArguments (and whether the agent is
// Disabled) from a LaunchAgent's property list.
func plistArguments(data []byte) (args []string, disabled bool, err error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = false
	var key string
	depth, inArgs := 0, false
	for {
		tok, err := dec.Token()
		if err != nil {
			if len(args) == 0 {
				return nil, false, fmt.Errorf("read LaunchAgent: no ProgramArguments")
			}
			return args, disabled, nil
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch t.Name.Local {
			case "key":
				var k string
				if err := dec.DecodeElement(&k, &t); err != nil {
					return nil, false, err
				}
				depth--
				key = k
			case "array":
				inArgs = key == "ProgramArguments" && depth == 3
			case "string":
				var s string
				if err := dec.DecodeElement(&s, &t); err != nil {
					return nil, false, err
				}
				depth--
				if inArgs {
					args = append(args, s)
				}
			case "true":
				if key == "Disabled" && depth == 3 {
					disabled = true
				}
			}
		case xml.EndElement:
			if t.Name.Local == "array" {
				inArgs = false
			}
			depth--
		}
	}
}

func launchAgentStatus(path string) (Status, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Status{}, err
	}
	args, disabled, err := plistArguments(data)
	if err != nil {
		return Status{}, err
	}
	st := Status{Kind: LaunchAgent, Where: path, Command: strings.Join(args, " "), Program: first(args), Enabled: !disabled}
	if disabled {
		st.DisabledBy = "its Disabled key"
	}
	return st, nil
}
