package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// ShippedImage is a core root filesystem the build side made offline and shipped with the host
// image (a squashfs on its own disk, or a 9p share in the browser).
type ShippedImage struct {
	Name   string `json:"name"`
	File   string `json:"file"`
	Size   int64  `json:"size"`
	Sha256 string `json:"sha256"`
	// Share: read in place from the 9p share (the browser), never imported.
	Share bool `json:"share"`
	// Finish "debootstrap": a debootstrap --foreign tree (the build host could not run the target's
	// programs); its second stage runs here once, into a folder on persist.
	Finish string `json:"finish"`
}

func shippedImages() []ShippedImage {
	var idx struct {
		Images []ShippedImage `json:"images"`
	}
	if data, err := os.ReadFile(shippedIndex); err == nil {
		json.Unmarshal(data, &idx)
	}
	return idx.Images
}

// shippedImage: the image of that name shipped with the host image, or nil.
func shippedImage(name string) *ShippedImage {
	all := shippedImages()
	for i := range all {
		if all[i].Name == name {
			return &all[i]
		}
	}
	return nil
}

// imageRoot returns a read-only directory holding the image's files, importing the image onto
// persist first if it has not been yet. progress receives a line now and then.
func imageRoot(name string, img *Image, progress func(string)) (string, error) {
	shipped := shippedImage(name)
	if shipped == nil {
		how := "it is not shipped with this host image"
		if img != nil && img.Pull != nil {
			how = "pulling it needs network and a registry client, which the crun runtime does not have"
		} else if img != nil && img.Build != nil {
			how = "building it from " + img.Build.Source + " needs docker (layer apps/docker)"
		}
		known := []string{}
		for _, s := range shippedImages() {
			known = append(known, s.Name)
		}
		return "", fmt.Errorf("image %s: %s; images shipped offline: %s", name, how, strings.Join(known, ", "))
	}
	mnt := filepath.Join(runDir, "images", strings.TrimSuffix(shipped.File, ".squashfs"))
	// Containers share images: one import and one mount per image, whoever asks first.
	os.MkdirAll(filepath.Dir(mnt), 0o755)
	lock, err := os.OpenFile(mnt+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		progress("waiting for image " + name + ", which another container is importing")
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
			return "", err
		}
	}
	finished := filepath.Join(imagesDir, strings.TrimSuffix(shipped.File, ".squashfs")+".rootfs")
	stored := filepath.Join(imagesDir, shipped.File)
	if shipped.Finish != "" && isFinished(finished, shipped) {
		// A power cut between finishing and the deletion below leaves the squashfs behind.
		removeImported(stored)
		return finished, nil
	}
	if mounted(mnt) && shipped.Finish == "" {
		return mnt, nil
	}
	os.MkdirAll(mnt, 0o755)
	if !imported(stored, shipped) {
		if dev := diskWithSerial(shippedDiskTag); dev != "" {
			if err := importImage(dev, stored, shipped, progress); err != nil {
				return "", err
			}
		} else if dir, ok := sharedImage(shipped); ok {
			// The browser: read the files where they are, fetched on first use; nothing to copy.
			return dir, nil
		} else {
			return "", fmt.Errorf("image %s: not imported yet and its disk (serial %q) is not attached", name, shippedDiskTag)
		}
	}
	if !mounted(mnt) {
		progress("mounting image " + name)
		if out, err := exec.Command("mount", "-t", "squashfs", "-o", "loop,ro", stored, mnt).CombinedOutput(); err != nil {
			return "", fmt.Errorf("mounting %s: %s", stored, strings.TrimSpace(string(out)))
		}
	}
	if shipped.Finish == "" {
		return mnt, nil
	}
	err = finishImage(shipped, mnt, finished, progress)
	syscall.Unmount(mnt, 0)
	if err == nil {
		// The finished folder is what containers use from now on: give persist its room back.
		removeImported(stored)
	}
	return finished, err
}

func removeImported(stored string) {
	os.Remove(stored + ".sha256")
	os.Remove(stored)
}

// imported: the file is complete. It is written under another name and renamed when verified,
// so a power cut during an import leaves no file that looks complete.
func imported(file string, img *ShippedImage) bool {
	st, err := os.Stat(file)
	sum, err2 := os.ReadFile(file + ".sha256")
	return err == nil && err2 == nil && st.Size() == img.Size && strings.TrimSpace(string(sum)) == img.Sha256
}

func importImage(dev, dest string, img *ShippedImage, progress func(string)) error {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	in, err := os.Open(dev)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dest + ".partial"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	hash := sha256.New()
	buf := make([]byte, 1<<20)
	var done int64
	last := -1
	for done < img.Size {
		n := int64(len(buf))
		if img.Size-done < n {
			n = img.Size - done
		}
		if _, err := io.ReadFull(in, buf[:n]); err != nil {
			out.Close()
			os.Remove(tmp)
			return fmt.Errorf("reading image %s from %s: %v", img.Name, dev, err)
		}
		if _, err := out.Write(buf[:n]); err != nil {
			out.Close()
			os.Remove(tmp)
			return fmt.Errorf("writing %s (is persist full?): %v", tmp, err)
		}
		hash.Write(buf[:n])
		done += n
		if pct := int(done * 100 / img.Size); pct/5 != last/5 {
			last = pct
			progress(fmt.Sprintf("importing image %s: %d%% (%d of %d MB)", img.Name, pct, done>>20, img.Size>>20))
		}
	}
	if err := out.Sync(); err != nil {
		return err
	}
	out.Close()
	if got := hex.EncodeToString(hash.Sum(nil)); got != img.Sha256 {
		os.Remove(tmp)
		return fmt.Errorf("image %s from %s has sha256 %s, expected %s: the disk does not belong to this host image", img.Name, dev, got, img.Sha256)
	}
	os.Remove(dest + ".sha256")
	if err := os.Rename(tmp, dest); err != nil {
		return err
	}
	// Written last: an image another build of the host ships under the same name is imported again.
	return os.WriteFile(dest+".sha256", []byte(img.Sha256+"\n"), 0o644)
}

func diskWithSerial(serial string) string {
	entries, _ := os.ReadDir("/sys/block")
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("/sys/block", e.Name(), "serial"))
		if err == nil && strings.TrimSpace(string(data)) == serial {
			return "/dev/" + e.Name()
		}
	}
	return ""
}

// mountShare mounts the browser's 9p share (read-only), if this machine has one.
func mountShare() bool {
	if mounted(shippedShareDir) {
		return true
	}
	os.MkdirAll(shippedShareDir, 0o755)
	return exec.Command("mount", "-t", "9p", "-o", "ro,trans=virtio,version=9p2000.L,cache=loose", shippedShareTag, shippedShareDir).Run() == nil
}

func sharedImage(img *ShippedImage) (string, bool) {
	if !mountShare() {
		return "", false
	}
	dir := filepath.Join(shippedShareDir, strings.TrimSuffix(img.File, ".squashfs"))
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return dir, true
	}
	return "", false
}

func mounted(dir string) bool {
	for _, m := range mountPoints() {
		if m == dir {
			return true
		}
	}
	return false
}

// mountPoints lists where something is mounted, from /proc/mounts.
func mountPoints() []string {
	data, _ := os.ReadFile("/proc/mounts")
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			points = append(points, f[1])
		}
	}
	return points
}
