package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

func containerRun(name string) string { return filepath.Join(runDir, "containers", name) }

// lockContainer serialises the setup of one container between the boot-time setup and logins.
func lockContainer(name string, wait bool) (*os.File, error) {
	dir := containerRun(name)
	os.MkdirAll(dir, 0o755)
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ensureContainer brings a container to running: image imported and mounted, its root (image +
// its own writable layer on persist) mounted, its users created, the process started.
func ensureContainer(cfg *Config, name string, progress func(string)) error {
	c := cfg.Containers[name]
	if c == nil {
		return fmt.Errorf("no container %q in %s", name, configFile)
	}
	if running(name) {
		return nil
	}
	say := func(msg string) {
		setStatus(name, "%s", msg)
		progress(msg)
	}
	if useDocker() {
		if err := ensureDockerContainer(cfg, name, c, say); err != nil {
			return err
		}
		createUsers(cfg, name)
		say("ready")
		return nil
	}
	lower, err := imageRoot(c.Image, cfg.Images[c.Image], say)
	if err != nil {
		return err
	}
	state := filepath.Join(containersDir, name)
	upper, work := filepath.Join(state, "upper"), filepath.Join(state, "work")
	for _, d := range []string{upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	rootfs := filepath.Join(containerRun(name), "rootfs")
	if !mounted(rootfs) {
		os.MkdirAll(rootfs, 0o755)
		opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
		if err := syscall.Mount("overlay", rootfs, "overlay", 0, opts); err != nil {
			return fmt.Errorf("mounting the root of container %s (overlay %s): %v", name, opts, err)
		}
	}
	spec, err := ociSpec(name, c)
	if err != nil {
		return err
	}
	data, _ := json.MarshalIndent(spec, "", "  ")
	if err := os.WriteFile(filepath.Join(containerRun(name), "config.json"), data, 0o644); err != nil {
		return err
	}
	say("starting container " + name)
	crun("delete", "--force", name).Run()
	logf, err := os.OpenFile(filepath.Join(state, "console.log"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := crun("--cgroup-manager=disabled", "run", "--no-pivot", "--detach", "--bundle", containerRun(name), name)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		log, _ := os.ReadFile(filepath.Join(state, "console.log"))
		return fmt.Errorf("crun could not start container %s: %v: %s", name, err, strings.TrimSpace(string(log)))
	}
	createUsers(cfg, name)
	say("ready")
	return nil
}

// createUsers makes the container's accounts of the users mapped to it.
func createUsers(cfg *Config, name string) {
	for _, uname := range sortedKeys(cfg.Users) {
		if u := cfg.Users[uname]; u.Container == name {
			// One user's account failing leaves the container to its other users.
			if _, err := containerUser(name, uname, u, true); err != nil {
				report("%v", err)
			}
		}
	}
}

func running(name string) bool {
	if useDocker() {
		return dockerRunning(name)
	}
	out, err := crun("state", name).Output()
	if err != nil {
		return false
	}
	var st struct {
		Status string `json:"status"`
	}
	return json.Unmarshal(out, &st) == nil && st.Status == "running"
}

var allCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ"}

// Docker's default set, which is what upstream's containers get unless privileged, less CAP_MKNOD:
// without a device cgroup it would let the container's root make a node for the persist disk.
var defaultCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ociSpec turns a container of config.yaml into the OCI runtime spec crun runs.
func ociSpec(name string, c *Container) (map[string]any, error) {
	caps := containerCaps(c)
	args := containerArgs(c)
	cwd := c.WorkingDirectory
	if cwd == "" {
		cwd = "/"
	}
	mounts := []map[string]any{
		{"destination": "/proc", "type": "proc", "source": "proc"},
		{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": []string{"nosuid", "noexec", "nodev", "ro"}},
		{"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "nodev", "mode=755"}},
	}
	for dest, opts := range c.TmpFs {
		mounts = append(mounts, map[string]any{"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": strings.Split(opts, ",")})
	}
	for _, m := range c.Mounts {
		host, dest, ro, err := parseMount(name, m)
		if err != nil {
			return nil, err
		}
		opts := []string{"rbind"}
		if ro {
			opts = append(opts, "ro")
		}
		if _, err := os.Stat(host); err != nil {
			os.MkdirAll(host, 0o755)
		}
		mounts = append(mounts, map[string]any{"destination": dest, "type": "bind", "source": host, "options": opts})
	}
	var ns []map[string]string
	for _, n := range []struct {
		kind string
		host bool
	}{{"pid", c.HostPID}, {"ipc", c.HostIPC}, {"uts", c.HostUTS}, {"network", c.HostNetwork}, {"mount", false}} {
		if !n.host {
			ns = append(ns, map[string]string{"type": n.kind})
		}
	}
	env := []string{defaultPath, "container=skiff-core", "HOME=/root"}
	env = append(env, c.Env...)
	spec := map[string]any{
		"ociVersion": "1.0.2",
		"process": map[string]any{
			"terminal": false,
			"user":     map[string]int{"uid": 0, "gid": 0},
			"args":     args,
			"env":      env,
			"cwd":      cwd,
			"capabilities": map[string][]string{
				"bounding": caps, "effective": caps, "permitted": caps,
			},
			"rlimits": rlimits,
		},
		"root":   map[string]any{"path": "rootfs", "readonly": false},
		"mounts": mounts,
		"linux":  map[string]any{"namespaces": ns},
	}
	if !c.HostUTS {
		host := c.Hostname
		if host == "" {
			host = name
		}
		spec["hostname"] = host
	}
	if !c.Privileged {
		spec["linux"].(map[string]any)["maskedPaths"] = []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"}
		spec["linux"].(map[string]any)["readonlyPaths"] = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
	}
	return spec, nil
}

// containerArgs: the container's entrypoint and cmd. Core images have no init of their own here:
// without either, a process that waits, so exec has a container to join.
func containerArgs(c *Container) []string {
	args := append(append([]string{}, c.Entrypoint...), c.Cmd...)
	if len(args) == 0 {
		args = []string{"/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 86400 & wait $!; done"}
	}
	return args
}

// parseMount reads one of config.yaml's mounts, /host/path:/container/path[:ro].
func parseMount(container, m string) (host, dest string, ro bool, err error) {
	parts := strings.Split(m, ":")
	if len(parts) < 2 || !strings.HasPrefix(parts[0], "/") || !strings.HasPrefix(parts[1], "/") {
		return "", "", false, fmt.Errorf("container %s: mount %q is not /host/path:/container/path[:ro]", container, m)
	}
	return parts[0], parts[1], len(parts) > 2 && parts[2] == "ro", nil
}

// The capabilities of a container's processes: docker's default set or, privileged, all of them,
// with capAdd and capDrop applied.
func containerCaps(c *Container) []string {
	caps := defaultCaps
	if c.Privileged {
		caps = allCaps
	}
	return adjustCaps(caps, c.CapAdd, c.CapDrop)
}

var rlimits = []map[string]any{{"type": "RLIMIT_NOFILE", "hard": 65536, "soft": 65536}}

func adjustCaps(base, add, drop []string) []string {
	norm := func(c string) string {
		c = strings.ToUpper(c)
		if !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		return c
	}
	set := map[string]bool{}
	for _, c := range base {
		set[c] = true
	}
	for _, c := range add {
		if strings.EqualFold(c, "ALL") {
			for _, a := range allCaps {
				set[a] = true
			}
		} else {
			set[norm(c)] = true
		}
	}
	for _, c := range drop {
		delete(set, norm(c))
	}
	out := []string{}
	for _, c := range allCaps {
		if set[c] {
			out = append(out, c)
		}
	}
	return out
}

// crunBinary: crun from the host image, or in the browser from the core share (fetched on first
// use, so the playground's first visit does not download it), with the libraries next to it.
func crunBinary() (string, []string) {
	env := []string{rootPath}
	if _, err := os.Stat(crunPath); err == nil {
		return crunPath, env
	}
	if !mountShare() {
		return crunPath, env
	}
	rt := filepath.Join(shippedShareDir, shippedRuntimeDir)
	var libs []string
	for _, pattern := range []string{"lib/*", "usr/lib/*", "lib", "usr/lib"} {
		found, _ := filepath.Glob(filepath.Join(rt, pattern))
		for _, d := range found {
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				libs = append(libs, d)
			}
		}
	}
	return filepath.Join(rt, "usr/bin/crun"), append(env, "LD_LIBRARY_PATH="+strings.Join(libs, ":"))
}

func crun(args ...string) *exec.Cmd {
	bin, env := crunBinary()
	cmd := exec.Command(bin, append([]string{"--root", crunRoot}, args...)...)
	cmd.Env = env
	return cmd
}
