package seals

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm4"
)

// MinKeyLength is the shortest --seal-key taken.
const MinKeyLength = 32

// ErrWrongKey is a --seal-key that does not open what the platform kept
// under its key: starting with it would leave every unit's seal unusable.
var ErrWrongKey = errors.New("--seal-key (COUNTYCLOUD_SEAL_KEY) is not the key this platform's seals are kept under: it cannot open them. " +
	"Start with the key the platform first ran with (印章密钥与首次启动时不同，无法打开已保存的印章)")

// KeyRing keeps units' private keys sealed at rest with SM4-GCM, under a
// key derived from the configured secret. What it seals is bound to where
// it belongs (the county and the seal's id), so that a sealed key copied
// to another row or county opens nowhere.
type KeyRing struct {
	aead cipher.AEAD
	// ephemeral is a key made up for this process (dev mode): nothing it
	// sealed outlives the process, so it leaves no check behind.
	ephemeral bool
}

// NewKeyRing derives the key ring of secret, of at least MinKeyLength
// characters.
func NewKeyRing(secret string) (*KeyRing, error) {
	if len(secret) < MinKeyLength {
		return nil, fmt.Errorf("the seal key must be at least %d characters, got %d", MinKeyLength, len(secret))
	}
	key, err := hkdf.Key(sha256.New, []byte(secret), nil, "countycloud seal keys v1 SM4-GCM", 16)
	if err != nil {
		return nil, fmt.Errorf("derive the seal key: %w", err)
	}
	block, err := sm4.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal key cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal key cipher: %w", err)
	}
	return &KeyRing{aead: aead}, nil
}

// NewEphemeralKeyRing is a key ring of a random key, for dev mode, where
// nothing is kept.
func NewEphemeralKeyRing() *KeyRing {
	k, err := NewKeyRing(rand.Text() + rand.Text())
	if err != nil {
		panic(err) // a random key of the right length cannot fail
	}
	k.ephemeral = true
	return k
}

// Ephemeral reports whether the key was made up for this process.
func (k *KeyRing) Ephemeral() bool { return k.ephemeral }

// seal encrypts plain for the place named by bound, nonce first.
func (k *KeyRing) seal(plain []byte, bound string) []byte {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return k.aead.Seal(nonce, nonce, plain, []byte(bound))
}

// open decrypts what seal sealed for bound; ErrWrongKey if it cannot,
// which is a key other than the one it was sealed under (or a row moved
// or altered).
func (k *KeyRing) open(sealed []byte, bound string) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n+k.aead.Overhead() {
		return nil, ErrWrongKey
	}
	plain, err := k.aead.Open(nil, sealed[:n], sealed[n:], []byte(bound))
	if err != nil {
		return nil, ErrWrongKey
	}
	return plain, nil
}

// privateKeyBinding binds a sealed private key to its county and seal.
func privateKeyBinding(tenant string, id int64) string {
	return fmt.Sprintf("countycloud seal private key\x00%s\x00%d", tenant, id)
}

const (
	checkBinding = "countycloud seal key check"
	checkText    = "CountyCloud seal key check v1"
)
