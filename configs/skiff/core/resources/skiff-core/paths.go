package main

// Where things live. Only /mnt/persist survives a reboot (and an upgrade of the host image);
// /run and /etc are rebuilt in RAM every boot.
const (
	persistDir    = "/mnt/persist/skiff/core"
	configFile    = persistDir + "/config.yaml"
	defaultConfig = "/opt/skiff/core/config.yaml"
	imagesDir     = persistDir + "/images"
	containersDir = persistDir + "/containers"
	logFile       = persistDir + "/skiff-core.log"
	shippedIndex  = "/etc/skiff/core/images.json"
	runDir        = "/run/skiff-core"
	crunRoot      = runDir + "/crun"
	shellPath     = "/usr/bin/skiff-core"
	crunPath      = "/usr/bin/crun"
	// The PATH of everything this program runs as root, whatever the caller's was.
	rootPath       = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"
	shippedDiskTag = "skiffcore"
	// In the browser the image is v86's 9p share (tag host9p), whose files are fetched when first read.
	shippedShareTag = "host9p"
	shippedShareDir = runDir + "/share"
	// On the share next to the images: crun and the libraries only it needs (see buildroot/debian/core.ts).
	shippedRuntimeDir = "skiff-runtime"
)
