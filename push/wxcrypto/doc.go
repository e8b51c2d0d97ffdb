// Package wxcrypto is WeChat's message-push cryptography, exactly as the
// published vectors require and no looser: the sha1 signatures over sorted
// strings (signature, msg_signature) and the AES-256-CBC message cipher with
// its 32-byte PKCS#7 blocks and trailing app id.
//
// It is standard library only, and it is shared by the gateway (which
// receives) and package wechattest (which plays WeChat's side), so both
// sides of every test use the same rules and a bug cannot hide in a
// mirror-image copy. The published vectors in testdata/ keep it honest.
package wxcrypto
