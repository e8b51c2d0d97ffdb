package msg

// kfsidebar proxy on|off|status. The settings' names (GNOME proxy
// settings, Windows Internet Settings) stay as the system calls them.
var (
	ProxyStatus     = text("%s: %s", "%s：%s")
	ProxyOurs       = text(" (kfsidebar)", "（kfsidebar）")
	ProxyNone       = text("no proxy", "没有代理")
	ProxyAuto       = text("automatic configuration %s", "自动代理配置 %s")
	ProxyManual     = text("manual proxy %s", "手动代理 %s")
	ProxyRunning    = text("kfsidebar is running there", "kfsidebar 正在这个地址运行")
	ProxyNotRunning = text("kfsidebar is not running there yet: start it with `kfsidebar run`", "kfsidebar 还没有在这个地址运行：用 kfsidebar run 启动它")
	ProxyByHandOn   = text("%w\n\nSet this automatic proxy configuration (PAC) URL by hand:\n\n    %s\n\n(%s.) Undo it the same way",
		"%w\n\n请手动设置这个自动代理配置（PAC）地址：\n\n    %s\n\n（%s。）撤销时用同样的方法删除")
	ProxyByHandOff = text("kfsidebar cannot change this computer's proxy settings, so it changed none: nothing to undo.\nIf you entered %s by hand, remove it the same way.\n",
		"kfsidebar 不能修改这台电脑的代理设置，所以什么也没改：无需撤销。\n如果你手动输入过 %s，请用同样的方法删除。\n")
	ProxyByHandStatus = text("System proxy: kfsidebar cannot read or change it here: %v\n\nkfsidebar's PAC URL, to enter by hand: %s (%s)\n",
		"系统代理：kfsidebar 在这里不能读取或修改它：%v\n\nkfsidebar 的自动代理配置地址，请手动输入：%s（%s）\n")
	ProxyOtherPAC = text("%w, and kfsidebar will not replace it (it may come from your IT department). Either ask whoever manages it to add\n    if (host == %q) return \"PROXY %s; DIRECT\";\nat the top of its FindProxyForURL, or use `kfsidebar open`, which changes nothing on the system",
		"%w，kfsidebar 不会替换它（它可能是 IT 部门设置的）。请让管理它的人在 FindProxyForURL 的开头加上\n    if (host == %q) return \"PROXY %s; DIRECT\";\n或者使用 kfsidebar open，它不修改系统的任何设置")
	ProxyAlready = text("%s already use %s; nothing changed.\n", "%s 已经在使用 %s；没有改动。\n")
	ProxyOn      = text("%s: automatic configuration %s (was: %s)\n", "%s：自动代理配置 %s（原来是：%s）\n")
	ProxyChained = text("kfsidebar chains the console to the proxy that was set, %s, and the PAC sends every other site there as before.\nRestart kfsidebar run so that it picks this up.\n",
		"kfsidebar 会让客服工具继续经过原来设置的代理 %s，其他网站也像以前一样走这个代理。\n请重启 kfsidebar run 让它生效。\n")
	ProxyNotYet = text("kfsidebar is not running on %s yet: start it with `kfsidebar run`. Until then the console opens directly, without the sidebar.\n",
		"kfsidebar 还没有在 %s 运行：用 kfsidebar run 启动它。在那之前客服工具会直接打开，没有侧边栏。\n")
	ProxyNext = text("Browsers pick this up within a minute, or when restarted. Undo with `%s`.\n",
		"浏览器会在一分钟内或重启后使用这个设置。撤销：%s\n")
	ProxyRemovedUnrecorded = text("%s: %s removed (kfsidebar had no record of an earlier setting, so there is now no proxy).\n",
		"%s：已删除 %s（kfsidebar 没有记录之前的设置，所以现在没有代理）。\n")
	ProxyNothingToUndo = text("%s: %s; kfsidebar did not change it, nothing to undo.\n", "%s：%s；kfsidebar 没有改过它，无需撤销。\n")
	ProxyChangedSince  = text("%s were changed since `kfsidebar proxy on` (now: %s); left as they are.\n", "%s 在 kfsidebar proxy on 之后被改过（现在：%s）；保持不变。\n")
	ProxyRestored      = text("%s restored: %s\n", "%s 已恢复：%s\n")
)

// Why kfsidebar cannot change the proxy settings (sysproxy.UnsupportedError);
// the English texts are the error's own.
var (
	ProxyUnsupportedDesktop = text("cannot change the proxy settings of this system (%s): set the automatic proxy configuration URL in your desktop's or browser's network settings by hand (KDE: System Settings → Network → Proxy; Firefox: Settings → Network Settings), or use `kfsidebar open`",
		"无法修改这个系统的代理设置（%s）：请在桌面或浏览器的网络设置里手动填写自动代理配置地址（KDE：系统设置 → 网络 → 代理；Firefox：设置 → 网络设置），或者使用 kfsidebar open")
	ProxyNoDesktop    = text("no desktop session (XDG_CURRENT_DESKTOP is empty)", "没有桌面会话，XDG_CURRENT_DESKTOP 为空")
	ProxyNoGSettings  = text("cannot change the proxy settings of this system: gsettings not found (Debian, Ubuntu: sudo apt install libglib2.0-bin), or use `kfsidebar open`", "无法修改这个系统的代理设置：找不到 gsettings（Debian、Ubuntu 上安装：sudo apt install libglib2.0-bin），或者使用 kfsidebar open")
	ProxyNoNetService = text("cannot change the proxy settings of this system: networksetup lists no enabled network service", "无法修改这个系统的代理设置：networksetup 没有列出已启用的网络服务")
)
