package matrix_test

import (
	"os"

	"github.com/retrobpf/retrobpf/matrix"
)

// Three kernels in two CI jobs: each job runs `retrobpf run --shard I/2`.
func ExampleGitHubMatrix() {
	refs, _ := matrix.ParseKernels("5.10,6.1,6.12")
	matrix.GitHubMatrix(os.Stdout, refs, 2)
	// Output:
	// {"include":[{"shard":"1/2","kernels":"5.10,6.12"},{"shard":"2/2","kernels":"6.1"}]}
}
