package main

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// The schema of upstream skiff-core's config.yaml. Every key upstream knows is accepted, so a
// config written for upstream loads; crun (container.go) acts on some of them, docker (docker.go)
// on nearly all.
type Config struct {
	Containers map[string]*Container `yaml:"containers"`
	Users      map[string]*User      `yaml:"users"`
	Images     map[string]*Image     `yaml:"images"`
}

type Container struct {
	Image            string            `yaml:"image"`
	Mounts           []string          `yaml:"mounts"`
	Entrypoint       []string          `yaml:"entrypoint"`
	Cmd              []string          `yaml:"cmd"`
	Env              []string          `yaml:"env"`
	Privileged       bool              `yaml:"privileged"`
	CapAdd           []string          `yaml:"capAdd"`
	CapDrop          []string          `yaml:"capDrop"`
	Devices          []string          `yaml:"devices"`
	HostIPC          bool              `yaml:"hostIPC"`
	HostPID          bool              `yaml:"hostPID"`
	HostUTS          bool              `yaml:"hostUTS"`
	HostNetwork      bool              `yaml:"hostNetwork"`
	Hostname         string            `yaml:"hostname"`
	TmpFs            map[string]string `yaml:"tmpFs"`
	WorkingDirectory string            `yaml:"workingDirectory"`
	Tty              bool              `yaml:"tty"`
	DisableInit      bool              `yaml:"disableInit"`
	RestartPolicy    string            `yaml:"restartPolicy"`
	StartAfterCreate *bool             `yaml:"startAfterCreate"`
	StopSignal       string            `yaml:"stopSignal"`
	SecurityOpt      []string          `yaml:"securityOpt"`
	DNS              []string          `yaml:"dns"`
	DNSSearch        []string          `yaml:"dnsSearch"`
	Hosts            []string          `yaml:"hosts"`
	Ports            []string          `yaml:"ports"`
}

type User struct {
	Container           string   `yaml:"container"`
	ContainerUser       string   `yaml:"containerUser"`
	ContainerShell      []string `yaml:"containerShell"`
	CreateContainerUser *bool    `yaml:"createContainerUser"`
	Auth                *Auth    `yaml:"auth"`
}

type Auth struct {
	CopyRootKeys       bool     `yaml:"copyRootKeys"`
	SSHKeys            []string `yaml:"sshKeys"`
	Password           string   `yaml:"password"`
	AllowEmptyPassword bool     `yaml:"allowEmptyPassword"`
	Locked             bool     `yaml:"locked"`
}

type Image struct {
	Pull  *Pull  `yaml:"pull"`
	Build *Build `yaml:"build"`
}

type Pull struct {
	PullPolicy string `yaml:"pullPolicy"`
	Registry   string `yaml:"registry"`
}

type Build struct {
	Source     string            `yaml:"source"`
	Root       string            `yaml:"root"`
	Dockerfile string            `yaml:"dockerfile"`
	BuildArgs  map[string]string `yaml:"buildArgs"`
}

// Problem is one mistake in config.yaml, with where it is, so the console message leads to it.
type Problem struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Key, p.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", p.File, p.Key, p.Msg)
}

// Loaded is what survives of a config: the entries without mistakes, and the mistakes. A broken
// container takes only its users down with it; everyone else keeps working.
type Loaded struct {
	Config   Config
	Problems []Problem
	// Users whose entry has a mistake, with the container they name (if any): they still get a
	// host account, so logging in tells them what is wrong instead of "unknown user".
	Dropped map[string]string
}

func loadConfig(file string) (*Loaded, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return parseConfig(file, data), nil
}

func parseConfig(file string, data []byte) *Loaded {
	out := &Loaded{Config: Config{Containers: map[string]*Container{}, Users: map[string]*User{}, Images: map[string]*Image{}}, Dropped: map[string]string{}}
	add := func(line int, key, format string, args ...any) {
		out.Problems = append(out.Problems, Problem{file, line, key, fmt.Sprintf(format, args...)})
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		add(yamlErrorLine(err), "(file)", "not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		return out
	}
	if len(doc.Content) == 0 {
		add(0, "(file)", "empty: expected the keys containers, users and images")
		return out
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		add(root.Line, "(file)", "expected a mapping with containers, users and images")
		return out
	}
	section := func(name string, each func(key string, val *yaml.Node)) {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value != name {
				continue
			}
			m := root.Content[i+1]
			if m.Kind == yaml.ScalarNode && m.Tag == "!!null" {
				return
			}
			if m.Kind != yaml.MappingNode {
				add(m.Line, name, "expected a mapping of names")
				return
			}
			for j := 0; j+1 < len(m.Content); j += 2 {
				each(m.Content[j].Value, m.Content[j+1])
			}
		}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i].Value; k != "containers" && k != "users" && k != "images" {
			add(root.Content[i].Line, k, "unknown key (known: containers, users, images)")
		}
	}
	section("images", func(name string, val *yaml.Node) {
		img := &Image{}
		if decodeChecked(val, img, "images."+name, add) {
			out.Config.Images[name] = img
		}
	})
	section("containers", func(name string, val *yaml.Node) {
		c := &Container{}
		if !decodeChecked(val, c, "containers."+name, add) {
			return
		}
		if !validName(name) {
			add(val.Line, "containers."+name, "a container name uses letters, digits, '_', '-' and '.' only")
			return
		}
		if c.Image == "" {
			add(val.Line, "containers."+name+".image", "missing: name the image the container runs")
			return
		}
		out.Config.Containers[name] = c
	})
	section("users", func(name string, val *yaml.Node) {
		u := &User{}
		if !decodeChecked(val, u, "users."+name, add) {
			if validUserName(name) && name != "root" {
				out.Dropped[name] = ""
			}
			return
		}
		if validUserName(name) && name != "root" {
			out.Dropped[name] = u.Container
		}
		switch {
		case !validUserName(name):
			add(val.Line, "users."+name, "a user name is lower-case letters, digits, '_' and '-', starting with a letter")
		case u.ContainerUser != "" && !validUserName(u.ContainerUser):
			add(keyLine(val, "containerUser"), "users."+name+".containerUser", "%q is not a user name (lower-case letters, digits, '_' and '-', starting with a letter)", u.ContainerUser)
		case u.Container == "":
			add(val.Line, "users."+name+".container", "missing: name the container this user is dropped into")
		case out.Config.Containers[u.Container] == nil:
			add(keyLine(val, "container"), "users."+name+".container", "no working container %q (see the containers section and the messages above)", u.Container)
		case name == "root":
			add(val.Line, "users.root", "root stays the host's administrator and cannot be mapped to a container")
		default:
			out.Config.Users[name] = u
			delete(out.Dropped, name)
		}
	})
	return out
}

// decodeChecked decodes one entry, first naming every key the schema does not know (with its line).
func decodeChecked(node *yaml.Node, into any, key string, add func(int, string, string, ...any)) bool {
	var bad bool
	checkKeys(node, reflect.TypeOf(into).Elem(), key, func(line int, k, msg string) {
		bad = true
		add(line, k, "%s", msg)
	})
	if bad {
		return false
	}
	if err := node.Decode(into); err != nil {
		add(yamlErrorLine(err), key, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return false
	}
	return true
}

func checkKeys(node *yaml.Node, t reflect.Type, key string, report func(int, string, string)) {
	if node.Kind == yaml.AliasNode {
		node = node.Alias
	}
	if node.Kind != yaml.MappingNode {
		if !(node.Kind == yaml.ScalarNode && node.Tag == "!!null") {
			report(node.Line, key, "expected a mapping")
		}
		return
	}
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		fields[strings.Split(f.Tag.Get("yaml"), ",")[0]] = f.Type
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k := node.Content[i].Value
		ft, ok := fields[k]
		if !ok {
			names := make([]string, 0, len(fields))
			for n := range fields {
				names = append(names, n)
			}
			sort.Strings(names)
			report(node.Content[i].Line, key+"."+k, "unknown key (known: "+strings.Join(names, ", ")+")")
			continue
		}
		for ft.Kind() == reflect.Ptr {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			checkKeys(node.Content[i+1], ft, key+"."+k, report)
		}
	}
}

func keyLine(node *yaml.Node, key string) int {
	for i := 0; i+1 < len(node.Content); i += 2 {
		if node.Content[i].Value == key {
			return node.Content[i].Line
		}
	}
	return node.Line
}

func yamlErrorLine(err error) int {
	var line int
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		fmt.Sscanf(msg[i+5:], "%d", &line)
	}
	return line
}

func validName(s string) bool {
	if s == "" || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

func validUserName(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z') || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
