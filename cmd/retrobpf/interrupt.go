package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/retrobpf/retrobpf/internal/atomicfile"
)

// ExitInterrupted is how the process ends when it is made to quit by a
// second signal, or by one it did not answer within interruptGrace: the
// shell's convention for "killed by SIGINT" (128+2).
const exitInterrupted = 130

// interruptGrace is how long a command may take to stop after the first
// Ctrl-C or SIGTERM. Every command hands c.Context to what blocks (QEMU,
// downloads, cache locks) and stops well within it; the grace is the
// guarantee for anything that does not, so no input or peer can make
// Ctrl-C a no-op. run needs a few seconds: it kills its QEMUs and keeps
// the kernels that finished.
const interruptGrace = 30 * time.Second

// interruptible returns a context that the first SIGINT or SIGTERM
// cancels, for every command alike. After that first signal a second one,
// or the grace running out, removes the temporary files of writes still
// in flight and ends the process at once with exitInterrupted.
func interruptible(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	// Registered now, not after the first signal: a second one that
	// arrives before the watchdog runs must not be lost.
	again := make(chan os.Signal, 2)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		if parent.Err() != nil { // cancelled by the caller, not by a signal
			return
		}
		<-again // the signal that cancelled ctx
		select {
		case <-done:
			return
		case <-again:
			fmt.Fprintln(os.Stderr, "retrobpf: interrupted again: quitting now")
		case <-time.After(interruptGrace):
			fmt.Fprintf(os.Stderr, "retrobpf: interrupted: did not stop within %s, quitting now\n", interruptGrace)
		}
		atomicfile.RemovePending()
		os.Exit(exitInterrupted)
	}()
	return ctx, func() {
		close(done)
		signal.Stop(again)
		stop()
	}
}
