package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

func isTerminal(fd uintptr) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, uintptr(syscall.TCGETS), uintptr(unsafe.Pointer(&t)))
	return errno == 0
}

// progressPrinter shows setup progress on the login's terminal: one line rewritten in place on a
// TTY, a line per change otherwise (ssh user@host cmd, logs).
func progressPrinter() (func(string), func()) {
	tty := isTerminal(os.Stderr.Fd())
	last, shown := "", false
	show := func(msg string) {
		if msg == "" || msg == last {
			return
		}
		last, shown = msg, true
		if tty {
			fmt.Fprintf(os.Stderr, "\rskiff-core: %s\033[K", msg)
		} else {
			fmt.Fprintf(os.Stderr, "skiff-core: %s\n", msg)
		}
	}
	end := func() {
		if tty && shown {
			fmt.Fprint(os.Stderr, "\n")
		}
	}
	return show, end
}

// login is the mapped user's shell: wait for (or do) the container's setup, then run the user's
// shell or -c command inside it as containerUser.
func login(args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "skiff-core: "+format+"\n", a...)
		return 1
	}
	if len(args) > 0 && args[0] != "-c" && args[0] != "-l" {
		return fail("as a login shell only -c COMMAND is understood, not %q", args[0])
	}
	me := accountByUID("/etc/passwd", os.Getuid())
	if me == nil || os.Getuid() == 0 {
		return fail("root is the host's administrator; log in as a user mapped in %s", configFile)
	}
	// Who logged in is known now; the rest (mount, crun, chown) needs root proper, not only the
	// effective id of this set-uid program, and none of the caller's environment: a PATH of the
	// user's choosing would pick the programs root runs. loginEnv passes on what a login needs.
	callerEnv := os.Environ()
	os.Clearenv()
	os.Setenv("PATH", strings.TrimPrefix(rootPath, "PATH="))
	if err := syscall.Setgid(0); err != nil {
		return fail("setgid: %v", err)
	}
	if err := syscall.Setuid(0); err != nil {
		return fail("setuid: %v", err)
	}
	l, err := loadConfig(configFile)
	if err != nil {
		return fail("%v", err)
	}
	u := l.Config.Users[me.name]
	if u == nil {
		container := l.Dropped[me.name]
		for _, p := range l.Problems {
			if under(p.Key, "users."+me.name) || p.Key == "(file)" || (container != "" && under(p.Key, "containers."+container)) {
				fmt.Fprintf(os.Stderr, "skiff-core: %s\n", p)
			}
		}
		return fail("user %s has no working container in %s", me.name, configFile)
	}
	show, end := progressPrinter()
	lock, err := lockContainer(u.Container, false)
	if err != nil {
		// The boot-time setup holds it: show what it is doing until it is done.
		show("waiting for container " + u.Container + " to be set up")
		for {
			if lock, err = lockContainer(u.Container, false); err == nil {
				break
			}
			show(readStatus(u.Container))
			time.Sleep(200 * time.Millisecond)
		}
	}
	// Waiting could be given up with Ctrl-C; the setup below is root's work on shared state, which
	// the user's Ctrl-C, a hang-up or a closed pipe must not stop half-way. The shell run at the
	// end gets the default handling back.
	quiet := []os.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGTSTP, syscall.SIGPIPE}
	signal.Ignore(quiet...)
	err = ensureContainer(&l.Config, u.Container, show)
	lock.Close()
	end()
	if err != nil {
		setStatus(u.Container, "failed: %v", err)
		appendLog(fmt.Sprintf("login %s: %v", me.name, err))
		return fail("%v", err)
	}
	ca, err := containerUser(u.Container, me.name, u, true)
	if err != nil {
		return fail("%v", err)
	}
	shell := u.ContainerShell
	if len(shell) == 0 {
		shell = []string{ca.shell, "-l"}
	}
	run := append([]string{}, shell...)
	if len(args) > 1 && args[0] == "-c" {
		run = append(run, "-c", strings.Join(args[1:], " "))
	}
	if useDocker() {
		signal.Reset(quiet...)
		err = syscall.Exec(dockerPath, dockerLogin(u.Container, ca, run, loginEnv(ca, callerEnv), isTerminal(os.Stdin.Fd())), []string{rootPath})
		return fail("running %s: %v", dockerPath, err)
	}
	process, err := execProcess(ca, run, loginEnv(ca, callerEnv), isTerminal(os.Stdin.Fd()), containerCaps(l.Config.Containers[u.Container]))
	if err != nil {
		return fail("%v", err)
	}
	bin, crunEnv := crunBinary()
	argv := []string{"crun", "--root", crunRoot, "exec", "--process", process, u.Container}
	signal.Reset(quiet...)
	err = syscall.Exec(bin, argv, crunEnv)
	return fail("running %s: %v", bin, err)
}

// execProcess writes the OCI process crun exec runs for a login into a pipe, and returns the path
// crun reads it from: no file is left behind by the exec that replaces this program. A process
// file, because crun's flags cannot give supplementary groups (a user in the container's sudo
// group must be in it). Root in the container keeps the container's capabilities; other users
// get them only as the bounding set, as a docker exec does.
func execProcess(ca *account, args, env []string, tty bool, caps []string) (string, error) {
	held := []string{}
	if ca.uid == 0 {
		held = caps
	}
	groups := ca.groups
	if groups == nil {
		groups = []int{}
	}
	data, err := json.Marshal(map[string]any{
		"terminal": tty,
		"user":     map[string]any{"uid": ca.uid, "gid": ca.gid, "additionalGids": groups},
		"args":     args,
		"env":      env,
		"cwd":      ca.home,
		"capabilities": map[string][]string{
			"bounding": caps, "effective": held, "permitted": held,
		},
		"rlimits": rlimits,
	})
	if err != nil {
		return "", err
	}
	// A pipe without close-on-exec, so crun inherits it; far below a pipe's 64 KiB buffer.
	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil {
		return "", fmt.Errorf("a pipe for crun: %v", err)
	}
	_, err = syscall.Write(p[1], data)
	syscall.Close(p[1])
	if err != nil {
		return "", fmt.Errorf("writing the process for crun: %v", err)
	}
	return fmt.Sprintf("/proc/self/fd/%d", p[0]), nil
}

// loginEnv: what a login inside the container sees; TERM and the SSH variables come along.
func loginEnv(ca *account, caller []string) []string {
	env := []string{defaultPath, "HOME=" + ca.home, "USER=" + ca.name, "LOGNAME=" + ca.name, "SHELL=" + ca.shell}
	term := "TERM=vt100"
	for _, kv := range caller {
		switch {
		case strings.HasPrefix(kv, "TERM=") && len(kv) > 5:
			term = kv
		case strings.HasPrefix(kv, "SSH_") || strings.HasPrefix(kv, "LANG=") || strings.HasPrefix(kv, "LC_"):
			env = append(env, kv)
		}
	}
	return append(env, term)
}

// under: key is prefix itself or one of its sub-keys.
func under(key, prefix string) bool {
	return key == prefix || strings.HasPrefix(key, prefix+".")
}
