package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

type account struct {
	name     string
	uid, gid int
	home     string
	shell    string
	// Supplementary groups (inside a container: from its /etc/group, as a login there gets them).
	groups []int
}

func readAccounts(passwd string) []account {
	f, err := os.Open(passwd)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []account
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ":")
		if len(p) < 7 {
			continue
		}
		uid, _ := strconv.Atoi(p[2])
		gid, _ := strconv.Atoi(p[3])
		out = append(out, account{name: p[0], uid: uid, gid: gid, home: p[5], shell: p[6]})
	}
	return out
}

func findAccount(passwd, name string) *account {
	for _, a := range readAccounts(passwd) {
		if a.name == name {
			a := a
			return &a
		}
	}
	return nil
}

func accountByUID(passwd string, uid int) *account {
	for _, a := range readAccounts(passwd) {
		if a.uid == uid {
			a := a
			return &a
		}
	}
	return nil
}

func appendLine(file, line string, mode os.FileMode) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, mode)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.WriteString(f, line+"\n")
	return err
}

// freeID: the first id from 1000 up that neither passwd nor group uses.
func freeID(root string) int {
	used := map[int]bool{}
	for _, a := range readAccounts(filepath.Join(root, "etc/passwd")) {
		used[a.uid] = true
	}
	if data, err := os.ReadFile(filepath.Join(root, "etc/group")); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if p := strings.Split(l, ":"); len(p) > 2 {
				if id, err := strconv.Atoi(p[2]); err == nil {
					used[id] = true
				}
			}
		}
	}
	id := 1000
	for used[id] {
		id++
	}
	return id
}

// addAccount writes a user and its own group into a root's passwd, group and shadow.
func addAccount(root, name, home, shell, shadowField string) (*account, error) {
	id := freeID(root)
	if err := appendLine(filepath.Join(root, "etc/group"), fmt.Sprintf("%s:x:%d:", name, id), 0o644); err != nil {
		return nil, err
	}
	if err := appendLine(filepath.Join(root, "etc/passwd"), fmt.Sprintf("%s:x:%d:%d::%s:%s", name, id, id, home, shell), 0o644); err != nil {
		return nil, err
	}
	if err := appendLine(filepath.Join(root, "etc/shadow"), fmt.Sprintf("%s:%s:19000:0:99999:7:::", name, shadowField), 0o600); err != nil {
		return nil, err
	}
	return &account{name: name, uid: id, gid: id, home: home, shell: shell}, nil
}

func containerUserName(uname string, u *User) string {
	if u.ContainerUser != "" {
		return u.ContainerUser
	}
	return uname
}

// The container's account for a user, and a home for it if a power cut lost the one made before.
// One exec per login: the line from getent and the user's group ids, or exit 3 when there is no
// such account.
const accountScript = `e=$(getent passwd "$1") || exit 3
home=$(echo "$e" | cut -d: -f6)
case "$home" in /home/*) [ -d "$home" ] || { mkdir -p "$home" && cp -a /etc/skel/. "$home" && chown -R "$(echo "$e" | cut -d: -f3,4)" "$home" && sync; } ;; esac
echo "account:$e"
echo "groups:$(id -G "$1" 2>/dev/null)"`

// containerUser finds (or, unless createContainerUser is false, creates) the user inside a running
// container. What writes runs in the container (crun exec, as its root), so a link planted in the
// container's files cannot point a write of this set-uid program at the host.
func containerUser(container, uname string, u *User, create bool) (*account, error) {
	name := containerUserName(uname, u)
	out, err := inContainer(container, accountScript, name)
	if exit, ok := err.(*exec.ExitError); ok && exit.ExitCode() == 3 {
		if !create || (u.CreateContainerUser != nil && !*u.CreateContainerUser) {
			return nil, fmt.Errorf("user %s: container %s has no user %s and createContainerUser is false", uname, container, name)
		}
		// Its own group and a home from /etc/skel, as upstream's createContainerUser does; bash if the image has it.
		add := `shell=/bin/sh; [ -x /bin/bash ] && shell=/bin/bash; useradd --create-home --user-group --shell "$shell" "$1" && sync`
		if msg, err := inContainer(container, add, name); err != nil {
			return nil, fmt.Errorf("creating user %s in container %s: %v: %s", name, container, err, strings.TrimSpace(string(msg)))
		}
		out, err = inContainer(container, accountScript, name)
	}
	if err != nil {
		return nil, fmt.Errorf("looking up user %s in container %s: %v: %s", name, container, err, strings.TrimSpace(string(out)))
	}
	var line string
	var groups []int
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "account:") {
			line = strings.TrimPrefix(l, "account:")
		} else if strings.HasPrefix(l, "groups:") {
			for _, g := range strings.Fields(strings.TrimPrefix(l, "groups:")) {
				if id, err := strconv.Atoi(g); err == nil {
					groups = append(groups, id)
				}
			}
		}
	}
	p := strings.Split(line, ":")
	if len(p) < 7 {
		return nil, fmt.Errorf("user %s in container %s: unexpected account line %q", name, container, strings.TrimSpace(string(out)))
	}
	uid, _ := strconv.Atoi(p[2])
	gid, _ := strconv.Atoi(p[3])
	return &account{name: p[0], uid: uid, gid: gid, home: p[5], shell: p[6], groups: groups}, nil
}

func inContainer(container, script string, args ...string) ([]byte, error) {
	if useDocker() {
		return docker(append([]string{"exec", container, "/bin/sh", "-c", script, "sh"}, args...)...).CombinedOutput()
	}
	return crun(append([]string{"exec", container, "/bin/sh", "-c", script, "sh"}, args...)...).CombinedOutput()
}

// hostUser makes the host account a mapped user logs in with: its shell is this program, its
// keys come from auth. The host's accounts live in RAM, so this runs every boot.
func hostUser(uname string, u *User) error {
	a := findAccount("/etc/passwd", uname)
	if a != nil && a.shell != shellPath {
		return fmt.Errorf("user %s: the host already has this account (shell %s); pick another name", uname, a.shell)
	}
	if a == nil {
		shadow := "!"
		if u.Auth != nil && !u.Auth.Locked {
			switch {
			case u.Auth.Password != "":
				// On stdin: an argument would show in ps to anyone sharing the PID namespace.
				hash := exec.Command("cryptpw", "-m", "sha512", "-")
				hash.Stdin = strings.NewReader(u.Auth.Password + "\n")
				out, err := hash.Output()
				if err != nil {
					return fmt.Errorf("user %s: hashing the password: %v", uname, err)
				}
				shadow = strings.TrimSpace(string(out))
			case u.Auth.AllowEmptyPassword:
				shadow = ""
			}
		}
		var err error
		if a, err = addAccount("/", uname, "/home/"+uname, shellPath, shadow); err != nil {
			return err
		}
	}
	ssh := filepath.Join(a.home, ".ssh")
	os.MkdirAll(a.home, 0o755)
	os.Mkdir(ssh, 0o700)
	var keys []string
	if u.Auth != nil {
		if u.Auth.CopyRootKeys {
			if data, err := os.ReadFile("/root/.ssh/authorized_keys"); err == nil {
				keys = append(keys, strings.TrimSpace(string(data)))
			}
		}
		keys = append(keys, u.Auth.SSHKeys...)
	}
	if err := os.WriteFile(filepath.Join(ssh, "authorized_keys"), []byte(strings.Join(keys, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	os.Chown(a.home, a.uid, a.gid)
	os.Chown(ssh, a.uid, a.gid)
	os.Chown(filepath.Join(ssh, "authorized_keys"), a.uid, a.gid)
	return allowShell()
}

// allowShell lists this program in /etc/shells: dropbear refuses logins whose shell is not there.
func allowShell() error {
	data, _ := os.ReadFile("/etc/shells")
	for _, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) == shellPath {
			return nil
		}
	}
	return appendLine("/etc/shells", shellPath, 0o644)
}
