; kfsidebar's Windows installer: per user, no administrator rights, in
; Chinese or English (Windows' display language picks). `make dist` builds
; it with Debian's makensis from the files in STAGE:
;   makensis -DVERSION=v1.2.3 -DSTAGE=dir -DOUTFILE=setup.exe kfsidebar.nsi
;
; It installs kfsidebar.exe (for terminals) and kfsidebarw.exe (the tray,
; no console window) in %LOCALAPPDATA%\Programs\kfsidebar, runs the steps
; that need a person (trusting the CA: Windows asks; proxy on; autostart
; on) and starts the tray. The uninstaller undoes every step
; (kfsidebar uninstall) and removes every file it installed; kfsidebar's
; data is kept only if the user says so (silently: /KEEPDATA).
;
; Silent: setup.exe /S   uninstall.exe /S [/KEEPDATA]

; A 64-bit installer: kfsidebar is a 64-bit program, and 64-bit Windows
; (and Wine without its 32-bit half) runs it natively.
Target amd64-unicode
ManifestDPIAware true
; lzma for the release; .ci/wine's test installer takes zlib, in a
; fraction of the time (-DCOMPRESSOR=zlib).
!ifndef COMPRESSOR
  !define COMPRESSOR "/SOLID lzma"
!endif
SetCompressor ${COMPRESSOR}
RequestExecutionLevel user

!include "MUI2.nsh"
!include "FileFunc.nsh"
!include "LogicLib.nsh"

!ifndef VERSION
  !define VERSION "dev"
!endif
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\kfsidebar"

Name "kfsidebar"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\kfsidebar"
InstallDirRegKey HKCU "Software\kfsidebar" "InstallDir"
BrandingText "kfsidebar ${VERSION}"

!define MUI_ICON "${STAGE}\kfsidebar.ico"
!define MUI_UNICON "${STAGE}\kfsidebar.ico"
!define MUI_ABORTWARNING
!define MUI_FINISHPAGE_RUN "$INSTDIR\kfsidebarw.exe"
!define MUI_FINISHPAGE_RUN_TEXT "$(StartTray)"

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES

; The first language is the default for every other display language.
!insertmacro MUI_LANGUAGE "SimpChinese"
!insertmacro MUI_LANGUAGE "English"

LangString StartTray ${LANG_SIMPCHINESE} "启动 kfsidebar（托盘图标）"
LangString StartTray ${LANG_ENGLISH} "Start kfsidebar (tray icon)"
LangString StepCA ${LANG_SIMPCHINESE} "信任 kfsidebar 的根证书（Windows 会弹出安全警告，请点“是”）…"
LangString StepCA ${LANG_ENGLISH} "Trusting kfsidebar's certificate (answer Yes to Windows' security warning)…"
LangString StepProxy ${LANG_SIMPCHINESE} "设置自动代理脚本…"
LangString StepProxy ${LANG_ENGLISH} "Setting the automatic proxy script…"
LangString StepAutostart ${LANG_SIMPCHINESE} "设置登录时启动…"
LangString StepAutostart ${LANG_ENGLISH} "Starting kfsidebar at login…"
LangString StepFailed ${LANG_SIMPCHINESE} "这一步没有完成；安装后运行 kfsidebar doctor 查看怎么解决。"
LangString StepFailed ${LANG_ENGLISH} "This step was not done; run kfsidebar doctor after the installation to see how to fix it."
LangString KeepData ${LANG_SIMPCHINESE} "保留 kfsidebar 的数据（根证书、识别的会话、导入的订单）以便以后重新安装？$\n$\n选“否”会全部删除。"
LangString KeepData ${LANG_ENGLISH} "Keep kfsidebar's data (its certificate, the chats learned, the orders imported) for a later reinstall?$\n$\nNo deletes all of it."
LangString Undoing ${LANG_SIMPCHINESE} "撤销 kfsidebar 的设置（退出托盘、登录启动、代理、根证书）…"
LangString Undoing ${LANG_ENGLISH} "Undoing kfsidebar's setup (tray, start at login, proxy, certificate)…"

VIProductVersion "0.0.0.0"
VIAddVersionKey /LANG=${LANG_ENGLISH} "ProductName" "kfsidebar"
VIAddVersionKey /LANG=${LANG_ENGLISH} "FileDescription" "kfsidebar installer"
VIAddVersionKey /LANG=${LANG_ENGLISH} "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "LegalCopyright" "kfsidebar authors"

; step runs one setup command of kfsidebar.exe with its output in the
; installer's log and no console window.
!macro step text args
  DetailPrint "$(${text})"
  nsExec::ExecToLog '"$INSTDIR\kfsidebar.exe" ${args}'
  Pop $0
  ${If} $0 != 0
    DetailPrint "$(StepFailed)"
  ${EndIf}
!macroend

Section "kfsidebar"
  SetOutPath "$INSTDIR"
  ; An older kfsidebar's tray holds its files: ask it to quit first.
  ${If} ${FileExists} "$INSTDIR\kfsidebar.exe"
    nsExec::ExecToLog '"$INSTDIR\kfsidebar.exe" tray stop'
    Pop $0
  ${EndIf}
  File "${STAGE}\kfsidebar.exe"
  File "${STAGE}\kfsidebarw.exe"
  File "${STAGE}\kfsidebar.ico"
  File "${STAGE}\README.md"
  File "${STAGE}\INSTALL.md"
  File "${STAGE}\INSTALL.zh.md"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  WriteRegStr HKCU "Software\kfsidebar" "InstallDir" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTKEY}" "DisplayName" "kfsidebar"
  WriteRegStr HKCU "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTKEY}" "Publisher" "kfsidebar"
  WriteRegStr HKCU "${UNINSTKEY}" "DisplayIcon" "$INSTDIR\kfsidebar.ico"
  WriteRegStr HKCU "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTKEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTKEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD HKCU "${UNINSTKEY}" "EstimatedSize" $0

  CreateShortcut "$SMPROGRAMS\kfsidebar.lnk" "$INSTDIR\kfsidebarw.exe" "" "$INSTDIR\kfsidebar.ico"

  ; The steps that need a person. The CA's step runs the GUI build, so
  ; Windows' own confirmation shows and no console window does.
  DetailPrint "$(StepCA)"
  ExecWait '"$INSTDIR\kfsidebarw.exe" ca install' $0
  ${If} $0 != 0
    DetailPrint "$(StepFailed)"
  ${EndIf}
  !insertmacro step StepProxy "proxy on"
  !insertmacro step StepAutostart "autostart on"

  ; Interactive installs start the tray from the finish page's box.
  ${If} ${Silent}
    Exec '"$INSTDIR\kfsidebarw.exe"'
  ${EndIf}
SectionEnd

Section "Uninstall"
  StrCpy $1 ""
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/KEEPDATA" $R1
  ${IfNot} ${Errors}
    StrCpy $1 "--keep-data"
  ${ElseIfNot} ${Silent}
    MessageBox MB_YESNO|MB_ICONQUESTION "$(KeepData)" /SD IDNO IDNO +2
    StrCpy $1 "--keep-data"
  ${EndIf}
  ; Every step undone: the tray quit, start at login, the proxy setting,
  ; the certificate (Windows asks), the data. The GUI build: no console.
  DetailPrint "$(Undoing)"
  ExecWait '"$INSTDIR\kfsidebarw.exe" uninstall $1' $0

  Delete "$SMPROGRAMS\kfsidebar.lnk"
  Delete "$INSTDIR\kfsidebar.exe"
  Delete "$INSTDIR\kfsidebarw.exe"
  Delete "$INSTDIR\kfsidebar.ico"
  Delete "$INSTDIR\README.md"
  Delete "$INSTDIR\INSTALL.md"
  Delete "$INSTDIR\INSTALL.zh.md"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  RMDir "$LOCALAPPDATA\Programs"
  DeleteRegKey HKCU "${UNINSTKEY}"
  DeleteRegKey HKCU "Software\kfsidebar"
SectionEnd
