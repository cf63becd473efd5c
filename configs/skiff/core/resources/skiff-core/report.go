package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// report puts a message where an administrator looks: the console and the log on persist.
func report(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if f, err := os.OpenFile("/dev/console", os.O_WRONLY|os.O_APPEND, 0); err == nil {
		fmt.Fprintf(f, "skiff-core: %s\n", msg)
		f.Close()
	}
	appendLog(msg)
}

func appendLog(msg string) {
	if err := os.MkdirAll(filepath.Dir(logFile), 0o755); err != nil {
		return
	}
	if f, err := os.OpenFile(logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
		fmt.Fprintf(f, "%s %s\n", time.Now().UTC().Format(time.RFC3339), msg)
		f.Close()
	}
}

// status is the one-line state of a container's setup, read by logins waiting for it.
func statusFile(container string) string {
	return filepath.Join(runDir, "containers", container, "status")
}

func setStatus(container, format string, args ...any) {
	file := statusFile(container)
	os.MkdirAll(filepath.Dir(file), 0o755)
	tmp := file + ".tmp"
	if os.WriteFile(tmp, []byte(fmt.Sprintf(format, args...)+"\n"), 0o644) == nil {
		os.Rename(tmp, file)
	}
}

func readStatus(container string) string {
	data, err := os.ReadFile(statusFile(container))
	if err != nil {
		return ""
	}
	s := string(data)
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return s
}
