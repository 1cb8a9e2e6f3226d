package agent

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// port is the result serial port; kept so powerOff can drain it.
var port *os.File

// openPort opens a serial device in raw mode: no CR/LF translation, no echo,
// 8 bits, so frames pass unchanged.
func openPort(p string) (io.Writer, error) {
	f, err := os.OpenFile(p, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		f.Close()
		return nil, err
	}
	// cfmakeraw
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		f.Close()
		return nil, err
	}
	port = f
	return f, nil
}

// drain waits until the UART has sent everything (tcdrain), so powering off
// does not cut the last frame.
func drain(f *os.File) {
	unix.IoctlSetInt(int(f.Fd()), unix.TCSBRK, 1)
}
