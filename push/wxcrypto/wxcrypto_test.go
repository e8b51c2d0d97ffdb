package wxcrypto_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/kfsidebar/kfsidebar/push/internal/pushtest"
	"github.com/kfsidebar/kfsidebar/push/wxcrypto"
)

// TestPublishedSignatures checks every signature WeChat publishes: the
// query signature over (token, timestamp, nonce) and msg_signature over
// (token, timestamp, nonce, Encrypt).
func TestPublishedSignatures(t *testing.T) {
	vs := pushtest.Vectors(t)
	for _, id := range []string{"V1", "V2", "V3", "V4", "V5", "V6", "V7"} {
		v := vs[id]
		t.Run(id, func(t *testing.T) {
			if v.Signature != "" {
				if got := wxcrypto.Signature(v.Token, v.Timestamp, v.Nonce); got != v.Signature {
					t.Errorf("signature = %s, want %s", got, v.Signature)
				}
				if !wxcrypto.Verify(strings.ToUpper(v.Signature), v.Token, v.Timestamp, v.Nonce) {
					t.Error("Verify refuses the published signature in upper case")
				}
			}
			if v.MsgSignature != "" {
				if got := wxcrypto.Signature(v.Token, v.Timestamp, v.Nonce, v.Encrypt); got != v.MsgSignature {
					t.Errorf("msg_signature = %s, want %s", got, v.MsgSignature)
				}
				// The classic bug: checking msg_signature as if it were signature.
				if wxcrypto.Verify(v.MsgSignature, v.Token, v.Timestamp, v.Nonce) {
					t.Error("msg_signature verifies without the Encrypt value")
				}
			}
		})
	}
}

// TestPublishedDecrypt opens every published ciphertext and checks what the
// sources state about it: the pad (19 and 22 need 32-byte PKCS#7 blocks),
// the random prefix, the length, the message and the trailing id.
func TestPublishedDecrypt(t *testing.T) {
	vs := pushtest.Vectors(t)
	for _, id := range []string{"V3", "V5", "V6", "V7"} {
		v := vs[id]
		t.Run(id, func(t *testing.T) {
			key, err := wxcrypto.ParseKey(v.EncodingAESKey)
			if err != nil {
				t.Fatal(err)
			}
			msg, appid, err := key.Decrypt(v.Encrypt)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if appid != v.AppID {
				t.Errorf("trailing id = %q, want %q", appid, v.AppID)
			}
			if _, err := key.Open(v.Encrypt, v.AppID); err != nil {
				t.Errorf("Open with the published appid: %v", err)
			}
			if _, err := key.Open(v.Encrypt, "wx0000000000000000"); !errors.Is(err, wxcrypto.ErrAppID) {
				t.Errorf("Open with another appid = %v, want ErrAppID", err)
			}
			raw := rawDecrypt(t, v.EncodingAESKey, v.Encrypt)
			if v.Pad != 0 && int(raw[len(raw)-1]) != v.Pad {
				t.Errorf("pad = %d, want %d", raw[len(raw)-1], v.Pad)
			}
			if v.Random != "" && string(raw[:16]) != v.Random {
				t.Errorf("random = %q, want %q", raw[:16], v.Random)
			}
			if v.MsgLen != 0 && len(msg) != v.MsgLen {
				t.Errorf("msg_len = %d, want %d", len(msg), v.MsgLen)
			}
			if v.Plaintext != "" && string(msg) != v.Plaintext {
				t.Errorf("msg = %s\nwant  %s", msg, v.Plaintext)
			}
			if v.Content != "" && !bytes.Contains(msg, []byte("<![CDATA["+v.Content+"]]>")) {
				t.Errorf("msg has no Content %q: %s", v.Content, msg)
			}
			if v.MsgID != "" && !bytes.Contains(msg, []byte("<MsgId>"+v.MsgID+"</MsgId>")) {
				t.Errorf("msg has no MsgId %s: %s", v.MsgID, msg)
			}
			t.Logf("%s plaintext (%d bytes, pad %d): %q", id, len(msg), raw[len(raw)-1], msg)
		})
	}
}

// TestPublishedReply reproduces the published safe-mode reply byte for
// byte from its random, timestamp and nonce.
func TestPublishedReply(t *testing.T) {
	v := pushtest.Vectors(t)["V4"]
	key, err := wxcrypto.ParseKey(v.EncodingAESKey)
	if err != nil {
		t.Fatal(err)
	}
	var random [16]byte
	copy(random[:], v.Random)
	enc := key.Encrypt(random, []byte(v.Plaintext), v.AppID)
	if enc != v.Encrypt {
		t.Errorf("Encrypt = %s\nwant      %s", enc, v.Encrypt)
	}
	if got := wxcrypto.Signature(v.Token, v.Timestamp, v.Nonce, enc); got != v.MsgSignature {
		t.Errorf("MsgSignature = %s, want %s", got, v.MsgSignature)
	}
	if ct, _ := base64.StdEncoding.DecodeString(enc); len(ct) != 64 {
		t.Errorf("ciphertext is %d bytes, want 64 (63 padded to 32-byte blocks)", len(ct))
	}
}

// TestRoundTrip seals and opens messages of every length around the
// block boundaries, so every pad value 1..32 occurs.
func TestRoundTrip(t *testing.T) {
	key, err := wxcrypto.ParseKey("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
	if err != nil {
		t.Fatal(err)
	}
	pads := map[int]bool{}
	for n := 0; n < 100; n++ {
		msg := bytes.Repeat([]byte{'x'}, n)
		enc, err := key.Seal(strings.NewReader(strings.Repeat("r", 16)), msg, "wx2c2769f8efd9abc2")
		if err != nil {
			t.Fatal(err)
		}
		got, err := key.Open(enc, "wx2c2769f8efd9abc2")
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("len %d: Open = %q, %v", n, got, err)
		}
		raw := rawDecrypt(t, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", enc)
		pads[int(raw[len(raw)-1])] = true
	}
	for p := 1; p <= 32; p++ {
		if !pads[p] {
			t.Errorf("pad %d never produced", p)
		}
	}
}

// TestHostileCiphertexts refuses what an attacker (or a broken sender)
// might send, each with its own reason.
func TestHostileCiphertexts(t *testing.T) {
	const ekey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	key, err := wxcrypto.ParseKey(ekey)
	if err != nil {
		t.Fatal(err)
	}
	good := key.Encrypt([16]byte{}, []byte("<xml/>"), "wx2c2769f8efd9abc2")
	tests := []struct {
		name    string
		encrypt string
		want    error
	}{
		{"not base64", "%%%not base64%%%", wxcrypto.ErrBase64},
		{"empty", "", wxcrypto.ErrLength},
		{"not a block multiple", base64.StdEncoding.EncodeToString(make([]byte, 20)), wxcrypto.ErrLength},
		{"pad zero", encryptRaw(t, ekey, append(make([]byte, 31), 0)), wxcrypto.ErrPadding},
		{"pad over 32", encryptRaw(t, ekey, append(make([]byte, 47), 33)), wxcrypto.ErrPadding},
		{"pad bytes differ", encryptRaw(t, ekey, append(bytes.Repeat([]byte{1}, 29), 2, 3, 3)), wxcrypto.ErrPadding},
		{"too short for the length field", encryptRaw(t, ekey, append(make([]byte, 16), bytes.Repeat([]byte{16}, 16)...)), wxcrypto.ErrMsgLength},
		{"length beyond the plaintext", encryptRaw(t, ekey, append(append(make([]byte, 16), 0x7f, 0, 0, 0), bytes.Repeat([]byte{12}, 12)...)), wxcrypto.ErrMsgLength},
		{"truncated", good[:len(good)-24] + "====", wxcrypto.ErrBase64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := key.Decrypt(tt.encrypt)
			if !errors.Is(err, tt.want) {
				t.Errorf("Decrypt = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	tests := []struct {
		name, key string
		ok        bool
	}{
		{"published", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", true},
		{"all zero", strings.Repeat("A", 43), true},
		{"42 characters", strings.Repeat("A", 42), false},
		{"44 characters", strings.Repeat("A", 44), false},
		{"not base64", strings.Repeat("!", 43), false},
		{"padded already", strings.Repeat("A", 42) + "=", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := wxcrypto.ParseKey(tt.key)
			if (err == nil) != tt.ok {
				t.Errorf("ParseKey = %v, want ok=%t", err, tt.ok)
			}
			if err != nil && !errors.Is(err, wxcrypto.ErrKeyFormat) {
				t.Errorf("error %v is not ErrKeyFormat", err)
			}
		})
	}
}

// FuzzDecrypt feeds arbitrary Encrypt values to the decryptor: it must
// refuse or return a message inside the plaintext, never panic.
func FuzzDecrypt(f *testing.F) {
	for _, v := range pushtest.Vectors(f) {
		if v.Encrypt != "" {
			f.Add(v.Encrypt)
		}
	}
	f.Add("")
	f.Add("AAAA")
	f.Add(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	key, err := wxcrypto.ParseKey(strings.Repeat("A", 43))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, encrypt string) {
		msg, appid, err := key.Decrypt(encrypt)
		if err != nil {
			return
		}
		ct, _ := base64.StdEncoding.DecodeString(encrypt)
		if len(msg)+len(appid)+20 > len(ct) {
			t.Fatalf("message and id (%d+%d) longer than the ciphertext (%d)", len(msg), len(appid), len(ct))
		}
	})
}

// rawDecrypt is AES-256-CBC without unpadding, to see the pad itself.
func rawDecrypt(t *testing.T, encodingAESKey, encrypt string) []byte {
	t.Helper()
	k, _ := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	ct, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := aes.NewCipher(k)
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(b, k[:16]).CryptBlocks(pt, ct)
	return pt
}

// encryptRaw is AES-256-CBC of an already padded plaintext, to build
// ciphertexts with bad padding.
func encryptRaw(t *testing.T, encodingAESKey string, pt []byte) string {
	t.Helper()
	k, _ := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	b, _ := aes.NewCipher(k)
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(b, k[:16]).CryptBlocks(ct, pt)
	return base64.StdEncoding.EncodeToString(ct)
}
