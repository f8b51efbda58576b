package host

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
)

// FileSHA256 is the SHA-256 of the file at path.
func FileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("plugin binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("plugin binary %s: %w", path, err)
	}
	return h.Sum(nil), nil
}
