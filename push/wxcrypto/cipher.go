package wxcrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
)

// KeyLen is the length of an EncodingAESKey: 43 base64 characters, 32
// bytes once "=" is appended and decoded.
const KeyLen = 43

// blockSize is the PKCS#7 block WeChat pads to: 32 bytes, not AES's 16. A
// 16-byte unpadder refuses pad values 17..32, which real pushes use (the
// published safe-mode example has pad 19).
const blockSize = 32

// Key is a parsed EncodingAESKey. The AES key is its 32 bytes and the CBC
// IV is their first 16, as WeChat defines it (a fixed IV is WeChat's
// choice; the 16 random bytes in front of every message stand in for it).
type Key struct {
	block cipher.Block
	iv    [aes.BlockSize]byte
}

// ParseKey parses an EncodingAESKey as configured in WeChat's admin.
func ParseKey(encodingAESKey string) (*Key, error) {
	if len(encodingAESKey) != KeyLen {
		return nil, fmt.Errorf("%w: got %d characters", ErrKeyFormat, len(encodingAESKey))
	}
	raw, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(raw) != 32 {
		return nil, ErrKeyFormat
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("parse key: %w", err)
	}
	k := &Key{block: block}
	copy(k.iv[:], raw)
	return k, nil
}

// Decrypt opens an Encrypt value: base64, AES-256-CBC, PKCS#7 with 32-byte
// blocks (pad 1..32, every pad byte checked), then
// random(16) ‖ msg_len(4, big endian) ‖ msg ‖ appid. It returns msg and the
// trailing app id; Open also checks the id.
func (k *Key) Decrypt(encrypt string) (msg []byte, appid string, err error) {
	ct, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil {
		return nil, "", ErrBase64
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, "", ErrLength
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(k.block, k.iv[:]).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > blockSize || pad > len(pt) {
		return nil, "", ErrPadding
	}
	for _, b := range pt[len(pt)-pad:] {
		if int(b) != pad {
			return nil, "", ErrPadding
		}
	}
	pt = pt[:len(pt)-pad]
	if len(pt) < 20 {
		return nil, "", ErrMsgLength
	}
	n := binary.BigEndian.Uint32(pt[16:20])
	if uint64(n) > uint64(len(pt)-20) {
		return nil, "", ErrMsgLength
	}
	return pt[20 : 20+n], string(pt[20+n:]), nil
}

// Open decrypts encrypt and checks that its trailing id is appid: the
// mini program's own id, or for a third-party platform the component
// appid (the published third-party vector ends in the platform's id, not
// the mini program's).
func (k *Key) Open(encrypt, appid string) ([]byte, error) {
	msg, got, err := k.Decrypt(encrypt)
	if err != nil {
		return nil, err
	}
	if got != appid {
		return nil, ErrAppID
	}
	return msg, nil
}

// Encrypt seals msg for appid with the given 16 random bytes (from
// crypto/rand in real use; fixed only to reproduce a published vector).
func (k *Key) Encrypt(random [16]byte, msg []byte, appid string) string {
	var buf bytes.Buffer
	buf.Write(random[:])
	binary.Write(&buf, binary.BigEndian, uint32(len(msg)))
	buf.Write(msg)
	buf.WriteString(appid)
	pad := blockSize - buf.Len()%blockSize
	buf.Write(bytes.Repeat([]byte{byte(pad)}, pad))
	ct := buf.Bytes()
	cipher.NewCBCEncrypter(k.block, k.iv[:]).CryptBlocks(ct, ct)
	return base64.StdEncoding.EncodeToString(ct)
}

// Seal is Encrypt with 16 random bytes read from rand.
func (k *Key) Seal(rand io.Reader, msg []byte, appid string) (string, error) {
	var random [16]byte
	if _, err := io.ReadFull(rand, random[:]); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	return k.Encrypt(random, msg, appid), nil
}
