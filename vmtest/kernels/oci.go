package kernels

import (
	"context"
	"fmt"
)

func (c *Cache) pullOCI(ctx context.Context, r Ref, opts ResolveOptions, tmp string) (*Kernel, error) {
	return nil, fmt.Errorf("%w: oci: not implemented yet", ErrBadRef)
}
