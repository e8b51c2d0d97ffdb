//go:build linux

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports (sysconf would need cgo).
const clockTick = 10 * time.Millisecond

// usage is what /proc says about a process and its descendants (whistle
// runs its plugins in child processes): CPU time used so far, and the sum
// of their peak resident set sizes.
type usage struct {
	CPU     time.Duration
	PeakRSS int64 // bytes, VmHWM
	Procs   int
}

// treeUsage reads usage for pid and every live descendant.
func treeUsage(pid int) (usage, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return usage{}, err
	}
	parent := map[int]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(p); err == nil {
			parent[p] = st.ppid
		}
	}
	var u usage
	for p := range parent {
		if !descends(p, pid, parent) {
			continue
		}
		st, err := readStat(p)
		if err != nil {
			continue // exited meanwhile
		}
		hwm, err := readHWM(p)
		if err != nil {
			continue
		}
		u.CPU += time.Duration(st.utime+st.stime) * clockTick
		u.PeakRSS += hwm
		u.Procs++
	}
	if u.Procs == 0 {
		return u, fmt.Errorf("process %d: not running", pid)
	}
	return u, nil
}

func descends(p, root int, parent map[int]int) bool {
	for range 64 {
		if p == root {
			return true
		}
		pp, ok := parent[p]
		if !ok || pp == 0 {
			return false
		}
		p = pp
	}
	return false
}

type procStat struct {
	ppid         int
	utime, stime int64
}

// readStat parses /proc/<pid>/stat. The command name may hold spaces and
// parentheses, so fields are counted from the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var st procStat
	var errs [3]error
	st.ppid, errs[0] = strconv.Atoi(f[1])
	st.utime, errs[1] = strconv.ParseInt(f[11], 10, 64)
	st.stime, errs[2] = strconv.ParseInt(f[12], 10, 64)
	for _, err := range errs {
		if err != nil {
			return procStat{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
	}
	return st, nil
}

// readHWM returns VmHWM, the peak resident set size, in bytes.
func readHWM(pid int) (int64, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status VmHWM: %w", pid, err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmHWM (a kernel thread?)", pid)
}
