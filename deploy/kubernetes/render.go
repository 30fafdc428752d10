package manifests

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// ReadDir returns the regular files under dir whose names end in .yaml or
// .yml, keyed by their slash-separated path relative to dir. Other files
// (Go sources, key material a user made under secrets/) are left out, so a
// render sees only the manifests and what a test puts beside them.
func ReadDir(dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(p) {
		case ".yaml", ".yml":
		default:
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	return files, err
}

// Render writes files into an in-memory file system and runs kustomize
// build on the kustomization in directory root (a key prefix of files,
// "." for the top), as `kubectl apply -k` would, with kustomize's default
// options: no plugins, and no file loaded from outside the root except by
// a base's own kustomization. It returns the rendered multi-document YAML.
func Render(files map[string]string, root string) ([]byte, error) {
	mem := filesys.MakeFsInMemory()
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := path.Join("/m", name)
		if err := mem.MkdirAll(path.Dir(p)); err != nil {
			return nil, err
		}
		if err := mem.WriteFile(p, []byte(files[name])); err != nil {
			return nil, err
		}
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(mem, path.Join("/m", root))
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", root, err)
	}
	return rm.AsYaml()
}
