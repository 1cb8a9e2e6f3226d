package matrix

import "github.com/retrobpf/retrobpf/manifest"

// hasTrigger reports whether any program of s is fired by a trigger of kind
// (e.g. fsync needs a block device in the guest).
func hasTrigger(s *manifest.Manifest, kind string) bool {
	for _, p := range s.Programs {
		if string(p.Trigger.Kind) == kind {
			return true
		}
	}
	return false
}
