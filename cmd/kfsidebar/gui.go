package main

// defaultCommand is the command run without arguments. It is empty for
// kfsidebar(.exe), which prints its usage; `make dist` sets it to "tray"
// for kfsidebarw.exe, the Windows GUI-subsystem build
// (-ldflags "-H=windowsgui -X main.defaultCommand=tray"), so that a
// double click, the Start menu and the Run key start the tray with no
// console window.
var defaultCommand string
