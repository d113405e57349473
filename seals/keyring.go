package seals

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"certseal"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// MasterKeyEnv names the environment variable that holds the master key, hex or base64;
// cmd/certseal reads it (into app.Config.MasterKey), and the messages name it.
const MasterKeyEnv = "CERTSEAL_MASTER_KEY"

// MasterKeySize is the length of the master key in bytes (AES-256).
const MasterKeySize = 32

// sealedMagic starts every sealed key; it is also the AES-GCM additional data.
var sealedMagic = []byte("CSK1")

// Keyring encrypts private keys at rest with AES-256-GCM under a key derived from the master
// key. Sealed keys carry the first bytes of the master key's check value, so that a wrong
// master key is told apart from damaged data. A Keyring is safe for concurrent use.
type Keyring struct {
	aead  cipher.AEAD
	check []byte // the key-check value
}

// NewKeyring returns a Keyring for a 32-byte master key. It returns a *certseal.Error
// (EInvalid) when the key is not 32 bytes.
func NewKeyring(master []byte) (*Keyring, error) {
	if len(master) != MasterKeySize {
		return nil, certseal.Errorf(certseal.EInvalid, "主密钥必须是 %d 字节（64 位十六进制或 base64），实际为 %d 字节", MasterKeySize, len(master))
	}
	enc, err := hkdf.Key(sha256.New, master, nil, "certseal seal keys AES-256-GCM v1", 32)
	if err != nil {
		return nil, fmt.Errorf("seals: derive key: %w", err)
	}
	check, err := hkdf.Key(sha256.New, master, nil, "certseal master key check value v1", 16)
	if err != nil {
		return nil, fmt.Errorf("seals: derive check value: %w", err)
	}
	block, err := aes.NewCipher(enc)
	if err != nil {
		return nil, fmt.Errorf("seals: aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seals: gcm: %w", err)
	}
	return &Keyring{aead: aead, check: check}, nil
}

// CheckValue returns the master key's key-check value: 16 bytes that reveal nothing about the
// key. Store it once beside the sealed keys and give it to Verify at every start. It never
// fails.
func (k *Keyring) CheckValue() []byte { return bytes.Clone(k.check) }

// ErrWrongMasterKey is the message of the error Verify and Open return for a master key other
// than the one the keys were sealed with.
const ErrWrongMasterKey = "主密钥不正确：它与加密已存储印章密钥时使用的主密钥不同。请设置原来的 CERTSEAL_MASTER_KEY 或指定原来的密钥文件；服务拒绝启动，已存储的密钥没有被改动"

// Verify returns nil when stored is this master key's check value, and a *certseal.Error
// (EForbidden, message ErrWrongMasterKey) otherwise. A service calls it before touching any
// key and refuses to start on error; it writes nothing.
func (k *Keyring) Verify(stored []byte) error {
	if subtle.ConstantTimeCompare(stored, k.check) != 1 {
		return certseal.Errorf(certseal.EForbidden, "%s", ErrWrongMasterKey)
	}
	return nil
}

// Seal returns priv (PKCS#8) encrypted with AES-256-GCM: "CSK1", 4 bytes of the check value, a
// random 12-byte nonce, then the ciphertext and tag. It returns an error when the key cannot be
// marshalled as PKCS#8 (for example a key held in an HSM) or the random source fails.
func (k *Keyring) Seal(priv crypto.Signer) ([]byte, error) {
	der, err := marshalPKCS8(priv)
	if err != nil {
		return nil, fmt.Errorf("seals: marshal private key: %w", err)
	}
	defer clear(der)
	out := make([]byte, 0, 4+4+k.aead.NonceSize()+len(der)+k.aead.Overhead())
	out = append(out, sealedMagic...)
	out = append(out, k.check[:4]...)
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seals: nonce: %w", err)
	}
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, der, sealedMagic), nil
}

// marshalPKCS8 returns priv as PKCS#8: SM2 keys (which crypto/x509 does not know) through
// smx509, every other key through crypto/x509 as before.
func marshalPKCS8(priv crypto.Signer) ([]byte, error) {
	if k, ok := priv.(*sm2.PrivateKey); ok {
		return smx509.MarshalPKCS8PrivateKey(k)
	}
	return x509.MarshalPKCS8PrivateKey(priv)
}

// boxMagic starts secrets sealed by SealBytes, so they can never be mistaken for sealed keys.
var boxMagic = []byte("CSB1")

// SealBytes encrypts a secret that is not a private key (a webhook's HMAC key, say) the way Seal
// encrypts keys: "CSB1", 4 bytes of the check value, a random nonce, the ciphertext and tag. It
// returns an error only when the random source fails.
func (k *Keyring) SealBytes(plain []byte) ([]byte, error) {
	out := make([]byte, 0, 8+k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	out = append(out, boxMagic...)
	out = append(out, k.check[:4]...)
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seals: nonce: %w", err)
	}
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, plain, boxMagic), nil
}

// IsSealedBytes reports whether b looks like the output of SealBytes.
func IsSealedBytes(b []byte) bool { return len(b) >= 8 && bytes.Equal(b[:4], boxMagic) }

// OpenBytes returns the secret sealed by SealBytes. It returns a *certseal.Error: EForbidden
// with ErrWrongMasterKey under another master key, EInvalid for damaged data.
func (k *Keyring) OpenBytes(sealed []byte) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(sealed) < 8+ns+k.aead.Overhead() || !IsSealedBytes(sealed) {
		return nil, certseal.Errorf(certseal.EInvalid, "密文格式不正确")
	}
	if subtle.ConstantTimeCompare(sealed[4:8], k.check[:4]) != 1 {
		return nil, certseal.Errorf(certseal.EForbidden, "%s", ErrWrongMasterKey)
	}
	plain, err := k.aead.Open(nil, sealed[8:8+ns], sealed[8+ns:], boxMagic)
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "密文已损坏，无法解密")
	}
	return plain, nil
}

// Open returns the private key sealed by Seal. It returns a *certseal.Error: EForbidden with
// ErrWrongMasterKey when the key was sealed under another master key, EInvalid when the data is
// not a sealed key or has been damaged.
func (k *Keyring) Open(sealed []byte) (crypto.Signer, error) {
	ns := k.aead.NonceSize()
	if len(sealed) < 8+ns+k.aead.Overhead() || !bytes.Equal(sealed[:4], sealedMagic) {
		return nil, certseal.Errorf(certseal.EInvalid, "密钥数据格式不正确")
	}
	if subtle.ConstantTimeCompare(sealed[4:8], k.check[:4]) != 1 {
		return nil, certseal.Errorf(certseal.EForbidden, "%s", ErrWrongMasterKey)
	}
	nonce := sealed[8 : 8+ns]
	der, err := k.aead.Open(nil, nonce, sealed[8+ns:], sealedMagic)
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "密钥数据已损坏，无法解密")
	}
	defer clear(der)
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		// crypto/x509 does not know the SM2 curve; smx509 reads SM2 keys.
		if key, err = smx509.ParsePKCS8PrivateKey(der); err != nil {
			return nil, certseal.Errorf(certseal.EInvalid, "密钥数据已损坏，无法解析")
		}
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, certseal.Errorf(certseal.EInvalid, "密钥类型不受支持")
	}
	return s, nil
}

// ParseMasterKey returns the 32-byte master key written as 64 hexadecimal digits or as base64
// (standard or URL alphabet, padded or not); surrounding white space is ignored. It returns a
// *certseal.Error (EInvalid) otherwise, without echoing the input.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*MasterKeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == MasterKeySize {
			return b, nil
		}
	}
	return nil, certseal.Errorf(certseal.EInvalid, "主密钥格式不正确：需要 32 字节，写成 64 位十六进制或 base64")
}

// MasterKeyFromValue returns the master key written in s (the value of CERTSEAL_MASTER_KEY,
// which cmd/certseal reads) and true, or nil and false when s is empty or blank. It returns a
// *certseal.Error (EInvalid) when s is set but malformed, without echoing it.
func MasterKeyFromValue(s string) ([]byte, bool, error) {
	if strings.TrimSpace(s) == "" {
		return nil, false, nil
	}
	b, err := ParseMasterKey(s)
	if err != nil {
		return nil, false, certseal.Errorf(certseal.EInvalid, "环境变量 %s 中的主密钥格式不正确：需要 64 位十六进制或 base64", MasterKeyEnv)
	}
	return b, true, nil
}

// ReadMasterKeyFile returns the master key stored (hex or base64) in the file at path. It
// returns a *certseal.Error: ENotFound when the file does not exist, EForbidden when other users
// may read it (its mode must not grant group or other any access), EInvalid when the contents
// are malformed; and the I/O error otherwise.
func ReadMasterKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, certseal.Errorf(certseal.ENotFound, "主密钥文件 %s 不存在", path)
	}
	if err != nil {
		return nil, fmt.Errorf("seals: master key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, certseal.Errorf(certseal.EForbidden, "主密钥文件 %s 的权限过宽（%v），请执行 chmod 600", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seals: read master key file: %w", err)
	}
	defer clear(data)
	b, err := ParseMasterKey(string(data))
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "主密钥文件 %s 的内容格式不正确", path)
	}
	return b, nil
}

// CreateMasterKeyFile writes a new random master key, hex encoded, to a new file at path with
// mode 0600 and returns it. It never overwrites: it returns a *certseal.Error (EConflict) when
// the file already exists, and the I/O error when it cannot be written.
func CreateMasterKeyFile(path string) ([]byte, error) {
	key := make([]byte, MasterKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("seals: random master key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, certseal.Errorf(certseal.EConflict, "主密钥文件 %s 已存在，不会覆盖", path)
	}
	if err != nil {
		return nil, fmt.Errorf("seals: create master key file: %w", err)
	}
	_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("seals: write master key file: %w", err)
	}
	return key, nil
}

// LoadMasterKey returns the master key written in value (the configured CERTSEAL_MASTER_KEY)
// when it is set, else from the key file at path; when neither exists and create is true it
// creates the file (mode 0600) and reports created. It returns the errors of
// MasterKeyFromValue, ReadMasterKeyFile and CreateMasterKeyFile, and a *certseal.Error
// (ENotFound) when there is no key and create is false.
func LoadMasterKey(value, path string, create bool) (key []byte, created bool, err error) {
	if k, ok, err := MasterKeyFromValue(value); err != nil || ok {
		return k, false, err
	}
	if path == "" {
		return nil, false, certseal.Errorf(certseal.ENotFound, "没有主密钥：请设置 %s 或指定主密钥文件", MasterKeyEnv)
	}
	k, err := ReadMasterKeyFile(path)
	if certseal.ErrorCode(err) == certseal.ENotFound && create {
		k, err = CreateMasterKeyFile(path)
		return k, err == nil, err
	}
	return k, false, err
}
