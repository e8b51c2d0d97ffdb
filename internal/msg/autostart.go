package msg

// kfsidebar autostart on|off|status.
var (
	AutostartHelp = text(`Start kfsidebar when you log in: its tray, which runs the proxy and
restarts it if it stops. For this user only; no administrator rights.

  on       start at every login (Windows: the Run key; macOS: a LaunchAgent;
           Linux: an autostart entry, or a systemd user unit without a desktop)
  off      do not start at login any more (removes what "on" wrote)
  status   say whether it starts at login`, `登录时自动启动 kfsidebar：它的托盘程序会运行代理，代理停止时自动重启。
只对当前用户生效，不需要管理员权限。

  on       每次登录时启动（Windows：Run 注册表项；macOS：LaunchAgent；
           Linux：自动启动项，没有桌面时用 systemd 用户服务）
  off      不再在登录时启动（删除 on 写入的内容）
  status   显示是否在登录时启动`)
	AutostartTitle      = text("kfsidebar", "客服侧边栏 kfsidebar")
	AutostartComment    = text("Customer sidebar for the WeChat customer-service console", "微信客服工具的客户侧边栏")
	AutostartOn         = text("kfsidebar starts at login (%s):\n  %s\n", "kfsidebar 将在登录时启动（%s）：\n  %s\n")
	AutostartOff        = text("kfsidebar no longer starts at login; removed:\n", "kfsidebar 不再在登录时启动；已删除：\n")
	AutostartNone       = text("kfsidebar was not set to start at login; nothing to remove.\n", "kfsidebar 本来就没有设置登录时启动，无需删除。\n")
	AutostartStatusOn   = text("starts at login: yes (%s)\n  %s\n", "登录时启动：是（%s）\n  %s\n")
	AutostartStatusOff  = text("starts at login: no\n", "登录时启动：否\n")
	AutostartDisabledBy = text("starts at login: no, switched off in %s (%s)\n  `kfsidebar autostart on` switches it on again\n",
		"登录时启动：否，已在%s中关闭（%s）\n  运行 kfsidebar autostart on 可重新开启\n")
	AutostartStale = text("  note: it starts %s, not this program (%s): run `kfsidebar autostart on` to start this one\n",
		"  注意：登录时启动的是 %s，不是当前程序（%s）：运行 kfsidebar autostart on 改为启动当前程序\n")
	AutostartConsoleExe = text("note: kfsidebarw.exe is not beside this program, so a console window will show at login; install kfsidebar with its installer\n",
		"注意：这个程序旁边没有 kfsidebarw.exe，登录时会出现一个命令行窗口；请用安装程序安装 kfsidebar\n")
	AutostartHeadless = text("note: no desktop session here, so a systemd user unit runs the proxy alone (no tray icon)\n",
		"注意：当前没有桌面会话，因此用 systemd 用户服务只运行代理（没有托盘图标）\n")
)
