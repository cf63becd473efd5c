package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// With the apps/docker layer the containers are docker's (upstream's runtime): images imported
// into docker's data root on persist, containers created and started by dockerd, logins through
// docker exec. Without it, crun runs them (container.go).
const dockerPath = "/usr/bin/docker"

func useDocker() bool {
	_, err := os.Stat(dockerPath)
	return err == nil
}

func docker(args ...string) *exec.Cmd {
	cmd := exec.Command(dockerPath, args...)
	cmd.Env = []string{rootPath}
	return cmd
}

// waitDocker: dockerd starts in the background at boot; the first setup may come before it answers.
func waitDocker(say func(string)) error {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		out, err := docker("version", "--format", "{{.Server.Version}}").CombinedOutput()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd does not answer (its log: /run/dockerd.log): %s", strings.TrimSpace(string(out)))
		}
		say("waiting for dockerd")
		time.Sleep(time.Second)
	}
}

func dockerHas(kind, name string) bool {
	return docker(kind, "inspect", "--format", "{{.Id}}", name).Run() == nil
}

func dockerRunning(name string) bool {
	out, err := docker("container", "inspect", "--format", "{{.State.Running}}", name).Output()
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// ensureDockerContainer: the image imported into docker (from the shipped one, once), the
// container created from config.yaml (once: later changes need `docker rm` first),
// then started.
func ensureDockerContainer(cfg *Config, name string, c *Container, say func(string)) error {
	if err := waitDocker(say); err != nil {
		return err
	}
	if !dockerHas("container", name) {
		if !dockerHas("image", c.Image) {
			if err := dockerImage(c.Image, cfg.Images[c.Image], say); err != nil {
				return err
			}
		}
		args, err := dockerCreateArgs(name, c)
		if err != nil {
			return err
		}
		say("creating container " + name)
		if out, err := docker(args...).CombinedOutput(); err != nil {
			return fmt.Errorf("docker could not create container %s: %s", name, strings.TrimSpace(string(out)))
		}
	}
	say("starting container " + name)
	if out, err := docker("start", name).CombinedOutput(); err != nil {
		return fmt.Errorf("docker could not start container %s: %s", name, strings.TrimSpace(string(out)))
	}
	return nil
}

// dockerImage gets an image into docker: the one shipped with the host image is imported (offline);
// otherwise it is built from build.source when that folder exists, or pulled, both as upstream
// does, and both may need network.
func dockerImage(image string, img *Image, say func(string)) error {
	if shippedImage(image) != nil {
		root, err := imageRoot(image, img, say)
		if err != nil {
			return err
		}
		return dockerImport(root, image, say)
	}
	if img != nil && img.Build != nil && img.Build.Source != "" {
		if st, err := os.Stat(img.Build.Source); err == nil && st.IsDir() {
			context := filepath.Join(img.Build.Source, img.Build.Root)
			args := []string{"build", "--tag", image}
			if img.Build.Dockerfile != "" {
				args = append(args, "--file", filepath.Join(context, img.Build.Dockerfile))
			}
			for _, k := range sortedKeys(img.Build.BuildArgs) {
				args = append(args, "--build-arg", k+"="+img.Build.BuildArgs[k])
			}
			say("building image " + image + " from " + context)
			if out, err := docker(append(args, context)...).CombinedOutput(); err != nil {
				return fmt.Errorf("building image %s from %s failed (a build that fetches packages needs network): %s", image, context, lastLines(out, 5))
			}
			return nil
		}
	}
	say("pulling image " + image)
	if out, err := docker("pull", image).CombinedOutput(); err != nil {
		return fmt.Errorf("image %s is not shipped with this host image, and pulling it failed (it needs network and a registry): %s", image, lastLines(out, 3))
	}
	return nil
}

func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}

// dockerImport streams the image's files into `docker import`, with progress by bytes sent.
func dockerImport(root, image string, say func(string)) error {
	say("importing image " + image + " into docker")
	tar := exec.Command("tar", "-C", root, "-c", ".")
	out, err := tar.StdoutPipe()
	if err != nil {
		return err
	}
	// One buffer per command: each is written by its own copying goroutine.
	var tarMsg, msg strings.Builder
	tar.Stderr = &tarMsg
	imp := docker("import", "-", image)
	imp.Stdin = &countingReader{r: out, report: func(mb int64) { say(fmt.Sprintf("importing image %s into docker: %d MB", image, mb)) }}
	imp.Stdout, imp.Stderr = &msg, &msg
	if err := tar.Start(); err != nil {
		return err
	}
	if err := imp.Start(); err != nil {
		tar.Process.Kill()
		tar.Wait()
		return err
	}
	// docker first: if it gives up (persist full), tar would block on a pipe nobody reads.
	ierr := imp.Wait()
	if ierr != nil {
		tar.Process.Kill()
	}
	if terr := tar.Wait(); ierr != nil || terr != nil {
		return fmt.Errorf("importing image %s into docker: %s", image, strings.TrimSpace(msg.String()+" "+tarMsg.String()))
	}
	return nil
}

// countingReader reports every 10 MB read.
type countingReader struct {
	r      io.Reader
	n      int64
	report func(mb int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	before := c.n
	c.n += int64(n)
	if c.n/(10<<20) != before/(10<<20) {
		c.report(c.n >> 20)
	}
	return n, err
}

// dockerCreateArgs maps a container of config.yaml onto docker create, key by key as upstream does.
func dockerCreateArgs(name string, c *Container) ([]string, error) {
	a := []string{"create", "--name", name, "--label", "skiffos.core=" + name}
	flag := func(on bool, f ...string) {
		if on {
			a = append(a, f...)
		}
	}
	flag(c.Privileged, "--privileged")
	flag(c.HostNetwork, "--network", "host")
	flag(c.HostPID, "--pid", "host")
	flag(c.HostIPC, "--ipc", "host")
	flag(c.HostUTS, "--uts", "host")
	flag(c.Hostname != "" && !c.HostUTS, "--hostname", c.Hostname)
	flag(c.Tty, "--tty")
	flag(!c.DisableInit, "--init")
	flag(c.RestartPolicy != "", "--restart", c.RestartPolicy)
	flag(c.StopSignal != "", "--stop-signal", c.StopSignal)
	flag(c.WorkingDirectory != "", "--workdir", c.WorkingDirectory)
	for _, m := range c.Mounts {
		if _, _, _, err := parseMount(name, m); err != nil {
			return nil, err
		}
		a = append(a, "--volume", m)
	}
	for _, d := range sortedKeys(c.TmpFs) {
		a = append(a, "--tmpfs", d+":"+c.TmpFs[d])
	}
	for _, list := range []struct {
		flag   string
		values []string
	}{
		{"--cap-add", c.CapAdd}, {"--cap-drop", c.CapDrop}, {"--device", c.Devices}, {"--security-opt", c.SecurityOpt},
		{"--dns", c.DNS}, {"--dns-search", c.DNSSearch}, {"--add-host", c.Hosts}, {"--publish", c.Ports}, {"--env", c.Env},
	} {
		for _, v := range list.values {
			a = append(a, list.flag, v)
		}
	}
	// An imported image has no command of its own, so the whole command is given: --entrypoint
	// takes one word, the rest follow the image as its arguments.
	args := containerArgs(c)
	a = append(a, "--entrypoint", args[0], c.Image)
	return append(a, args[1:]...), nil
}

// dockerLogin is the argv of the docker exec a login becomes: the user by name, so docker gives it
// the groups the container's /etc/group lists.
func dockerLogin(container string, ca *account, args, env []string, tty bool) []string {
	argv := []string{"docker", "exec", "--interactive"}
	if tty {
		argv = append(argv, "--tty")
	}
	argv = append(argv, "--user", ca.name, "--workdir", ca.home)
	for _, kv := range env {
		argv = append(argv, "--env", kv)
	}
	argv = append(argv, container)
	return append(argv, args...)
}
