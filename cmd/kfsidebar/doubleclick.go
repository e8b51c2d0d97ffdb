package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// doubleClickHelp is what kfsidebar.exe says when it was double-clicked
// in Explorer: without arguments, in a console window of its own that
// would otherwise flash and close. Chinese first: the agents read Chinese.
const doubleClickHelp = `kfsidebar.exe 是命令行程序, 要在命令窗口里运行, 双击不能打开。
kfsidebar.exe is a command-line program: it runs in a command window, not by double-clicking.

怎么用 How to use it:
  1. 在这个文件夹窗口的地址栏输入 cmd, 按回车: 会打开一个命令窗口。
     In this folder's address bar, type cmd and press Enter: a command window opens.
  2. 在命令窗口里输入 Type in it:
       kfsidebar demo --open     先试试: 打开演示客服后台 (try it first: a demo console)
       kfsidebar run             每天启动 (保持窗口打开) (every day; keep its window open)
     第一次使用还要 The first time, also:
       kfsidebar ca install      信任证书, Windows 提示时点"是" (trust the certificate; answer Yes)
       kfsidebar proxy on        让浏览器经过 kfsidebar (send the console through kfsidebar)
  3. kfsidebar doctor 检查每一步并说明怎么修复 (checks every step and says how to fix it).
详细步骤见 Step by step: docs/INSTALL.md
`

// startTray starts the tray, kfsidebarw.exe in kfsidebar.exe's folder
// where the installer puts it (trayProgram), with the saved settings (a
// tray already running opens the status page instead), and reports
// whether it did: false without one there (a bare kfsidebar.exe, copied
// alone), and kfsidebar.exe explains itself. Tests replace it.
var startTray = startTrayBeside

func startTrayBeside() bool {
	exe, args, _, err := trayProgram()
	if err != nil || !strings.EqualFold(filepath.Base(exe), guiExe) {
		return false
	}
	cmd := exec.Command(exe, args...)
	if cmd.Start() != nil {
		return false
	}
	cmd.Process.Release()
	return true
}

// doubleClicked handles kfsidebar.exe started without arguments from
// Explorer: the tray if there is one (startTray), else the explanation,
// and the window stays open until Enter is pressed.
func doubleClicked(in io.Reader, out io.Writer) error {
	if startTray() {
		return nil
	}
	fmt.Fprint(out, doubleClickHelp)
	fmt.Fprint(out, "\n按回车键关闭这个窗口。 Press Enter to close this window.\n")
	bufio.NewReader(in).ReadString('\n')
	return nil
}

// launchedFromExplorer reports whether kfsidebar was started without a
// terminal of its own: on Windows, double-clicked in Explorer (consoleAlone
// in console_windows.go); never elsewhere. Tests replace it.
var launchedFromExplorer = consoleAlone

// doubleClickInput is where doubleClicked waits for Enter. Tests replace it.
var doubleClickInput io.Reader = os.Stdin
