package msg

import "golang.org/x/sys/windows"

var procGetUserDefaultUILanguage = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetUserDefaultUILanguage")

// systemLang is the user's display language (Settings → Time & Language):
// its primary language id, LANG_CHINESE (0x04) for every Chinese.
func systemLang() Lang {
	if procGetUserDefaultUILanguage.Find() != nil {
		return English
	}
	id, _, _ := procGetUserDefaultUILanguage.Call()
	if id&0x3ff == 0x04 {
		return Chinese
	}
	return English
}
