package msg

// The tray: its menu and the states its icon shows.
var (
	TrayTitle       = text("kfsidebar", "kfsidebar 客服侧边栏")
	TrayStarting    = text("Starting…", "正在启动…")
	TrayWorking     = text("Working: the sidebar is on", "正常工作：侧边栏已开启")
	TrayPaused      = text("Paused: the console opens without the sidebar", "已暂停：客服工具不显示侧边栏")
	TrayDown        = text("Not running: restarting", "未运行：正在重新启动")
	TrayUntrusted   = text("The browser does not trust kfsidebar's certificate", "浏览器不信任 kfsidebar 的根证书")
	TrayOpenConsole = text("Open the customer-service console", "打开客服工具")
	TrayStatusPage  = text("Status page", "状态页")
	TrayPause       = text("Pause", "暂停")
	TrayResume      = text("Continue", "继续")
	TrayAutostart   = text("Start at login", "开机启动")
	TrayQuit        = text("Quit", "退出")

	TrayRestartIn       = text("restarting in %s: %v", "%s 后重新启动：%v")
	TrayNotAnswering    = text("the proxy at %s does not answer", "%s 上的代理没有响应")
	TrayUntrustedDetail = text("run `kfsidebar ca install`, then restart the browser", "请运行 kfsidebar ca install，然后重启浏览器")
	TrayServing         = text("serving on %s", "运行在 %s")

	TrayAlreadyRunning = text("kfsidebar's tray is already running; opening its status page, %s\n",
		"kfsidebar 托盘程序已在运行，正在打开状态页 %s\n")
	TrayStopped     = text("kfsidebar's tray has quit.\n", "kfsidebar 托盘程序已退出。\n")
	TrayNotRunning  = text("kfsidebar's tray is not running.\n", "kfsidebar 托盘程序没有在运行。\n")
	TrayStopTimeout = text("kfsidebar's tray did not quit within %s (it holds %s)",
		"kfsidebar 托盘程序在 %s 内没有退出（它占用着 %s）")
	TrayNoOpener = text("could not open %s: %v; open it in a browser by hand",
		"无法打开 %s：%v；请在浏览器里手动打开")
)
