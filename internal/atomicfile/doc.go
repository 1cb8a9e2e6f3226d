// Package atomicfile writes files so that readers (and a crash) only ever
// see the old content or the complete new one: the data goes to a
// temporary file beside the target, is fsynced, and renamed into place.
// On any error the temporary file is removed and the target is untouched.
package atomicfile
