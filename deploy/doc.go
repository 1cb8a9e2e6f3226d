// Package deploy holds retrobpf's Kubernetes manifests (the *.yaml files
// of this directory: a pre-deploy Job, a node-feature-discovery DaemonSet
// and an initContainer gate example) and Load, which decodes them strictly
// into k8s.io/api types for the tests that keep them honest: their kinds,
// mounts and the retrobpf flags they pass (deploy_test.go and
// cmd/retrobpf), the Dockerfile's build line (dockerfile_test.go) and the
// initContainer run for real in a VM kernel (vm_test.go). The retrobpf
// binary does not import it.
package deploy
