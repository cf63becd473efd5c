// skiff-core drops users into their containers: at boot it reads config.yaml, imports images and
// starts containers; as a user's login shell it waits for that user's container and runs the
// user's shell inside it.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

const usage = `skiff-core: users dropped into containers (config: ` + configFile + `)

  skiff-core setup          users, then start (both run at boot)
  skiff-core users          install the default config if absent, report its mistakes,
                            create the mapped users' host accounts
  skiff-core start          import images and start the containers
  skiff-core check [FILE]   report the mistakes in a config file (default: the one in use)
  skiff-core status         each container's state and each user's mapping

As the login shell of a mapped user it runs that user's shell in the container
(with -c COMMAND: runs COMMAND there).
`

func main() {
	// A set-uid program started with fd 0, 1 or 2 closed would open its own files there.
	for fd := 0; fd < 3; fd++ {
		var st syscall.Stat_t
		if syscall.Fstat(fd, &st) != nil {
			if f, err := os.OpenFile("/dev/null", os.O_RDWR, 0); err == nil && int(f.Fd()) != fd {
				f.Close()
			}
		}
	}
	base := filepath.Base(strings.TrimPrefix(os.Args[0], "-"))
	args := os.Args[1:]
	// As a login shell: "-skiff-core" (login, su -), "skiff-core -c CMD" (ssh user@host CMD), or
	// run with no arguments by a mapped user.
	if strings.HasPrefix(os.Args[0], "-") || (len(args) > 0 && args[0] == "-c") || (len(args) == 0 && os.Getuid() != 0) {
		os.Exit(login(args))
	}
	if len(args) > 0 && (args[0] == "setup" || args[0] == "users" || args[0] == "start" || args[0] == "status") && os.Getuid() != 0 {
		fmt.Fprintf(os.Stderr, "%s %s: run it as root\n", base, args[0])
		os.Exit(1)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Print(usage)
		return
	}
	switch args[0] {
	case "setup":
		if code := users(); code != 0 {
			os.Exit(code)
		}
		os.Exit(start())
	case "users":
		os.Exit(users())
	case "start":
		os.Exit(start())
	case "check":
		file := configFile
		if len(args) > 1 {
			// Set-uid root: a user may not have it read files they cannot read themselves.
			if os.Getuid() != os.Geteuid() {
				fmt.Fprintf(os.Stderr, "%s check FILE: run it as root (as a user, check checks %s)\n", base, configFile)
				os.Exit(1)
			}
			file = args[1]
		}
		os.Exit(check(file))
	case "status":
		os.Exit(status())
	default:
		fmt.Fprintf(os.Stderr, "%s: unknown command %q\n\n%s", base, args[0], usage)
		os.Exit(2)
	}
}

func check(file string) int {
	l, err := loadConfig(file)
	if err != nil {
		fmt.Fprintf(os.Stderr, "skiff-core: %v\n", err)
		return 1
	}
	for _, p := range l.Problems {
		fmt.Println(p)
	}
	if len(l.Problems) > 0 {
		return 1
	}
	fmt.Printf("%s: %d containers, %d users, %d images, no mistakes\n", file, len(l.Config.Containers), len(l.Config.Users), len(l.Config.Images))
	return 0
}

// installDefault copies the image's config to persist the first time; a config there is the
// user's and is never overwritten.
func installDefault() error {
	if _, err := os.Stat(configFile); err == nil {
		return nil
	}
	data, err := os.ReadFile(defaultConfig)
	if err != nil {
		return err
	}
	os.MkdirAll(persistDir, 0o755)
	tmp := configFile + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, configFile)
}

// users: the quick, synchronous part of the boot, so a login right after the boot finds its account.
func users() int {
	if err := installDefault(); err != nil {
		report("cannot install the default config: %v", err)
		return 1
	}
	l, err := loadConfig(configFile)
	if err != nil {
		report("%v", err)
		return 1
	}
	appendLog("setup: " + configFile)
	for _, p := range l.Problems {
		report("%s", p)
	}
	if len(l.Problems) > 0 {
		report("%d mistakes in %s: the entries named above are skipped; root login works as before (check again with: skiff-core check)", len(l.Problems), configFile)
	}
	cfg := &l.Config
	for _, name := range sortedKeys(cfg.Users) {
		if err := hostUser(name, cfg.Users[name]); err != nil {
			report("user %s: %v", name, err)
		}
	}
	for _, name := range sortedKeys(l.Dropped) {
		// A locked account, so a login says what is wrong with this user's entry.
		if err := hostUser(name, &User{Container: l.Dropped[name]}); err != nil {
			report("user %s: %v", name, err)
		}
	}
	return 0
}

// start: images and containers, which may take a while (an image import); logins wait for it.
func start() int {
	l, err := loadConfig(configFile)
	if err != nil {
		report("%v", err)
		return 1
	}
	cfg := &l.Config
	failed := 0
	for _, name := range sortedKeys(cfg.Containers) {
		c := cfg.Containers[name]
		if c.StartAfterCreate != nil && !*c.StartAfterCreate {
			setStatus(name, "stopped (startAfterCreate: false); starts at its user's login")
			continue
		}
		lock, err := lockContainer(name, true)
		if err != nil {
			report("container %s: %v", name, err)
			failed++
			continue
		}
		if err := ensureContainer(cfg, name, func(msg string) {
			// The log keeps each step, not every percent of an import.
			if !strings.Contains(msg, "%") || strings.Contains(msg, "100%") {
				appendLog(name + ": " + msg)
			}
		}); err != nil {
			setStatus(name, "failed: %v", err)
			report("container %s: %v", name, err)
			failed++
		} else {
			appendLog("container " + name + " is running")
		}
		lock.Close()
	}
	if failed > 0 {
		return 1
	}
	return 0
}

func status() int {
	l, err := loadConfig(configFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "skiff-core: %v\n", err)
		return 1
	}
	for _, p := range l.Problems {
		fmt.Println(p)
	}
	for _, name := range sortedKeys(l.Config.Containers) {
		st := readStatus(name)
		if running(name) {
			st = "running"
		} else if st == "" {
			st = "not started"
		}
		fmt.Printf("container %s (%s): %s\n", name, l.Config.Containers[name].Image, st)
	}
	for _, name := range sortedKeys(l.Config.Users) {
		u := l.Config.Users[name]
		fmt.Printf("user %s -> container %s as %s\n", name, u.Container, containerUserName(name, u))
	}
	return 0
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
