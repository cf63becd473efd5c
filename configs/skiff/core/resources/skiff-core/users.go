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
	"syscall"
)

type account struct {
	name     string
	uid, gid int
	home     string
	shell    string
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
		out = append(out, account{p[0], uid, gid, p[5], p[6]})
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
	return &account{name, id, id, home, shell}, nil
}

func containerUserName(uname string, u *User) string {
	if u.ContainerUser != "" {
		return u.ContainerUser
	}
	return uname
}

// containerUser finds (or, unless createContainerUser is false, creates) the user inside a
// container's root, with a home seeded from /etc/skel.
func containerUser(rootfs, uname string, u *User, create bool) (*account, error) {
	name := containerUserName(uname, u)
	if a := findAccount(filepath.Join(rootfs, "etc/passwd"), name); a != nil {
		// A power cut can keep the account but lose its new home: give it a fresh one.
		if _, err := os.Stat(filepath.Join(rootfs, a.home)); os.IsNotExist(err) && strings.HasPrefix(a.home, "/home/") {
			seedHome(rootfs, a)
		}
		return a, nil
	}
	if !create || (u.CreateContainerUser != nil && !*u.CreateContainerUser) {
		return nil, fmt.Errorf("user %s: the container has no user %s and createContainerUser is false", uname, name)
	}
	shell := "/bin/sh"
	if _, err := os.Stat(filepath.Join(rootfs, "bin/bash")); err == nil {
		shell = "/bin/bash"
	}
	a, err := addAccount(rootfs, name, "/home/"+name, shell, "*")
	if err != nil {
		return nil, fmt.Errorf("creating user %s in the container: %v", name, err)
	}
	seedHome(rootfs, a)
	return a, nil
}

// seedHome makes a home from /etc/skel, owned by the user, and syncs it with the account: the
// container's writable layer is on persist, and a login may be followed by a power cut.
func seedHome(rootfs string, a *account) {
	home := filepath.Join(rootfs, a.home)
	os.MkdirAll(home, 0o755)
	exec.Command("cp", "-a", filepath.Join(rootfs, "etc/skel")+"/.", home+"/").Run()
	exec.Command("chown", "-R", fmt.Sprintf("%d:%d", a.uid, a.gid), home).Run()
	syscall.Sync()
}

// hostUser makes the host account a mapped user logs in with: its shell is this program, its
// keys come from auth. The host's accounts live in RAM, so this runs every boot.
func hostUser(uname string, u *User) error {
	a := findAccount("/etc/passwd", uname)
	if a == nil {
		shadow := "!"
		if u.Auth != nil && !u.Auth.Locked {
			switch {
			case u.Auth.Password != "":
				out, err := exec.Command("cryptpw", "-m", "sha512", u.Auth.Password).Output()
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
