package matrix_test

import (
	"os"

	"github.com/retrobpf/retrobpf/matrix"
)

// Three kernels in two CI jobs: each job runs `retrobpf run --shard I/2`.
func ExampleGitHubMatrix() {
	matrix.GitHubMatrix(os.Stdout, []string{"5.10", "6.1", "6.12"}, 2)
	// Output:
	// {"include":[{"shard":"1/2","kernels":"5.10,6.12"},{"shard":"2/2","kernels":"6.1"}]}
}
