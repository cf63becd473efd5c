package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
)

// The build's slimming script in a --foreign tree (buildroot/debian/core.ts ON_DEVICE_FINISH).
const finishScript = "skiff-core-finish.sh"

// isFinished: the folder holds the image's complete files. The marker (beside it, written last)
// names the squashfs it was made from, so another build shipped under the same name is finished again.
func isFinished(dir string, img *ShippedImage) bool {
	mark, err := os.ReadFile(dir + ".finished")
	return err == nil && strings.TrimSpace(string(mark)) == img.Sha256
}

var debootstrapStep = regexp.MustCompile(`^I: (Unpacking|Configuring) (\S+?)\.\.\.$`)

// finishImage completes a debootstrap --foreign image on this device: its files are copied from
// the mounted squashfs onto persist, debootstrap's second stage runs in them (a chroot, as the
// build host would have done), then the build's slimming script. Work is done under another name
// and renamed at the end, so a power cut leaves nothing that looks finished.
func finishImage(img *ShippedImage, from, dir string, progress func(string)) error {
	tmp := dir + ".partial"
	unmountUnder(tmp)
	os.Remove(dir + ".finished")
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	progress("unpacking image " + img.Name + " onto persist (first use on this device)")
	if out, err := exec.Command("cp", "-a", from+"/.", tmp).CombinedOutput(); err != nil {
		return fmt.Errorf("copying image %s onto persist (is persist full?): %s", img.Name, strings.TrimSpace(string(out)))
	}
	debs, _ := os.ReadFile(filepath.Join(tmp, "debootstrap", "debpaths"))
	// Each package is unpacked, then configured: two steps per debpaths line ("name path").
	total := len(strings.Fields(string(debs)))
	logPath := dir + ".debootstrap.log"
	log, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command("chroot", tmp, "/debootstrap/debootstrap", "--second-stage")
	cmd.Env = []string{rootPath, "HOME=/root", "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive"}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	done, last := 0, -100
	lines := bufio.NewScanner(io.TeeReader(out, log))
	for lines.Scan() {
		if m := debootstrapStep.FindStringSubmatch(lines.Text()); m != nil && total > 0 {
			done++
			pct := done * 100 / total
			if pct > 99 {
				pct = 99
			}
			if pct/5 != last/5 {
				last = pct
				progress(fmt.Sprintf("setting up image %s (debootstrap's second stage): %d%%, %s %s", img.Name, pct, strings.ToLower(m[1]), m[2]))
			}
		}
	}
	// A line too long for the scanner ends the loop early: keep the pipe drained (into the log), or the second stage would block on it.
	io.Copy(log, out)
	if err := cmd.Wait(); err != nil {
		unmountUnder(tmp)
		return fmt.Errorf("debootstrap's second stage for image %s failed (%v); its output is in %s", img.Name, err, logPath)
	}
	progress("setting up image " + img.Name + ": tidying up")
	slim := exec.Command("chroot", tmp, "/bin/sh", "-c", "cd / && sh /"+finishScript+" && rm -f /"+finishScript)
	slim.Env = cmd.Env
	if out, err := slim.CombinedOutput(); err != nil {
		return fmt.Errorf("tidying image %s: %s", img.Name, strings.TrimSpace(string(out)))
	}
	unmountUnder(tmp)
	syscall.Sync()
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	// The marker must be on the disk before the caller deletes the squashfs: a board has no other copy.
	if err := os.WriteFile(dir+".finished.partial", []byte(img.Sha256+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(dir+".finished.partial", dir+".finished"); err != nil {
		return err
	}
	syscall.Sync()
	return nil
}

// unmountUnder unmounts what an interrupted second stage left mounted inside dir (its /proc), deepest first.
func unmountUnder(dir string) {
	var found []string
	for _, m := range mountPoints() {
		if strings.HasPrefix(m, dir+"/") {
			found = append(found, m)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(found)))
	for _, m := range found {
		syscall.Unmount(m, syscall.MNT_DETACH)
	}
}
