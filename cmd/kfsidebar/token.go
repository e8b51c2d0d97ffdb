package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kfsidebar/kfsidebar/internal/atomicfile"
)

// tokenFile holds the secret the injected script carries to the sidebar's
// websocket. It is kept across restarts so that a console tab left open
// reconnects by itself after kfsidebar restarts; a page that never got our
// script (any other origin, any other tab) cannot know it.
const tokenFile = "sidebar-token"

// loadOrCreateToken returns the token in dir, making one on first use.
func loadOrCreateToken(dir string) (string, error) {
	path := filepath.Join(dir, tokenFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if t := strings.TrimSpace(string(b)); len(t) >= 20 {
			return t, nil
		}
		// Too short to be ours (edited by hand?): replace it.
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("sidebar token: %w", err)
	}
	t := rand.Text()
	if err := atomicfile.Write(path, []byte(t+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("sidebar token: %w", err)
	}
	return t, nil
}
