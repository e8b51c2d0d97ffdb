package msg

// kfsidebar setup and kfsidebar uninstall.
var (
	SetupHelp = text(`Set this computer up for kfsidebar in one step, for the current user:
trust kfsidebar's certificate (ca install), point the system's proxy setting
at kfsidebar's PAC (proxy on) and start kfsidebar's tray at login (autostart
on). Each step can be undone: kfsidebar uninstall undoes them all.`, `一步完成本机设置（只对当前用户）：信任 kfsidebar 的根证书（ca install）、
把系统代理设置指向 kfsidebar 的自动代理脚本（proxy on）、登录时启动 kfsidebar 托盘（autostart on）。
每一步都可以撤销：kfsidebar uninstall 会全部撤销。`)
	SetupStep        = text("\n── %d/%d %s ──\n", "\n── %d/%d %s ──\n")
	SetupStepCA      = text("trust kfsidebar's certificate", "信任 kfsidebar 的根证书")
	SetupStepProxy   = text("send the console through kfsidebar", "让客服工具经过 kfsidebar")
	SetupStepStart   = text("start kfsidebar at login", "登录时启动 kfsidebar")
	SetupProxyByHand = text("This system's proxy settings cannot be changed by kfsidebar (%v).\nSet the automatic proxy configuration URL by hand to:\n  %s\nor use `kfsidebar open`.\n",
		"kfsidebar 无法修改这个系统的代理设置（%v）。\n请手动把自动代理配置地址设为：\n  %s\n或者使用 kfsidebar open。\n")
	SetupDone = text("\nDone. Start kfsidebar now from the menu, or with `kfsidebar tray`; then restart the browser and open https://%s\n",
		"\n完成。现在从菜单启动 kfsidebar，或运行 kfsidebar tray；然后重启浏览器，打开 https://%s\n")
	SetupFailed = text("setup: %d of %d steps not done (%s): see above", "setup：%d/%d 步没有完成（%s）：见上文")

	UninstallHelp = text(`Undo every setup step of kfsidebar for the current user: quit the tray,
stop starting at login, restore the proxy setting that was there before,
remove kfsidebar's certificate from every trust store, and delete kfsidebar's
data (the CA, the chats learned, the imported orders, the logs) unless
--keep-data. The program itself is removed by the uninstaller or the package
manager.`, `为当前用户撤销 kfsidebar 的全部设置：退出托盘、取消登录时启动、恢复原来的代理设置、
从所有证书库删除 kfsidebar 的根证书，并删除 kfsidebar 的数据（根证书、识别的会话、导入的订单、日志），
除非加 --keep-data。程序本身由卸载程序或软件包管理器删除。`)
	UninstallStepTray  = text("quit the tray", "退出托盘")
	UninstallStepStart = text("stop starting at login", "取消登录时启动")
	UninstallStepProxy = text("restore the proxy setting", "恢复代理设置")
	UninstallStepCA    = text("remove kfsidebar's certificate", "删除 kfsidebar 的根证书")
	UninstallStepData  = text("delete kfsidebar's data", "删除 kfsidebar 的数据")
	UninstallRemoved   = text("removed %s\n", "已删除 %s\n")
	UninstallKept      = text("kept %s (--keep-data)\n", "保留了 %s（--keep-data）\n")
	UninstallNotOurs   = text("left %s: it is not kfsidebar's\n", "保留了 %s：它不是 kfsidebar 的文件\n")
	UninstallNothing   = text("nothing to delete\n", "没有需要删除的数据\n")
	UninstallProxyNone = text("nothing to restore: kfsidebar cannot change this system's proxy settings\n", "无需恢复：kfsidebar 不能修改这个系统的代理设置\n")
	UninstallDone      = text("\nDone: kfsidebar left nothing behind for this user.\n", "\n完成：kfsidebar 没有为当前用户留下任何东西。\n")
	UninstallFailed    = text("uninstall: %d of %d steps not done (%s): see above", "uninstall：%d/%d 步没有完成（%s）：见上文")
)
