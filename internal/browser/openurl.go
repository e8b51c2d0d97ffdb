package browser

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"

	"github.com/kfsidebar/kfsidebar/internal/nowindow"
)

// EnvURLOpener names a program that OpenURL runs with the URL instead of
// the system's opener (a desktop without xdg-open, and tests).
const EnvURLOpener = "KFSIDEBAR_URL_OPENER"

// OpenURL opens url in the user's default browser, the way a click on a
// link elsewhere would: the console in the agent's usual browser, the
// status page for the tray. It returns once the opener started; the
// opener (xdg-open may wait for the browser) is reaped in the background.
func OpenURL(url string) error {
	var prog string
	var args []string
	switch {
	case os.Getenv(EnvURLOpener) != "":
		prog = os.Getenv(EnvURLOpener)
	case runtime.GOOS == "windows":
		// The URL handler of the shell, as Explorer opens a link; it
		// shows no window of its own.
		prog, args = "rundll32.exe", []string{"url.dll,FileProtocolHandler"}
	case runtime.GOOS == "darwin":
		prog = "open"
	default:
		prog = "xdg-open"
	}
	cmd := exec.Command(prog, append(args, url)...)
	nowindow.Apply(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("open %s: %w", url, err)
	}
	go cmd.Wait()
	return nil
}
