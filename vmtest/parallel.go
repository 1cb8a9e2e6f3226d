package vmtest

import (
	"context"
	"sync"
)

// Job is one VM run for RunAll.
type Job struct {
	Machine Machine
	Plan    Plan
}

// RunAll runs jobs with at most jobs VMs at once (jobs <= 0: DefaultJobs)
// and returns the results and errors of Run in the order of the jobs. Each
// VM has its own temporary directory; cancelling ctx kills every QEMU and
// skips the jobs not started yet (their error is ctx's).
func RunAll(ctx context.Context, jobs int, list []Job) ([]*Result, []error) {
	if jobs <= 0 {
		jobs = DefaultJobs()
	}
	results := make([]*Result, len(list))
	errs := make([]error, len(list))
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for i, j := range list {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			for k := i; k < len(list); k++ {
				errs[k] = ctx.Err()
			}
			wg.Wait()
			return results, errs
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i], errs[i] = Run(ctx, j.Machine, j.Plan)
		}()
	}
	wg.Wait()
	return results, errs
}
