package persist

import (
	"os"
	"syscall"
)

// datasync flushes f's data. The log's segments are written over blocks
// written before (zeros ahead), so no metadata the data needs changes and
// fdatasync skips the inode's times, which fsync would commit through the
// filesystem's journal with every frame.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
