package mpkftest

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
)

// LookAlikeNickname is the nickname WeChat shows for a user who never set
// one. With DefaultAvatarID it makes a look-alike: nothing a console page
// shows tells two of them apart.
const LookAlikeNickname = "微信用户"

// lookAlikeBase is where LookAlikes' uins start: far from every Roster
// uin, so look-alikes and the Roster can share a console.
const lookAlikeBase = 3_700_000_000

// LookAlikes returns n fans beyond Roster who all look like the same user:
// DefaultAvatarID and the nickname 微信用户, with distinct UINs and
// OpenIDs. Many real users look like this, and a sidebar that matches
// chats by avatar and nickname cannot tell them apart; tests and
// benchmarks use these to prove it never guesses. The i-th fan is the same
// on every call and every machine (its openid is derived from i), so a
// console, a shop import file and a harness made separately agree on who
// is who. Their opening lines are the generic ones many users send, so
// the message text does not tell them apart either.
func LookAlikes(n int) []Fan {
	out := make([]Fan, n)
	for i := range out {
		out[i] = Fan{
			UIN:      lookAlikeBase + int64(i)*97 + 11,
			OpenID:   derivedOpenID(fmt.Sprintf("mpkftest look-alike %d", i)),
			Nickname: LookAlikeNickname,
			AvatarID: DefaultAvatarID,
		}
	}
	return out
}

// derivedOpenID is a mini-program openid made from seed: 28 characters,
// the Roster's shared "oVx3k5" prefix, then URL-safe base64 as real ones.
func derivedOpenID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return "oVx3k5" + base64.RawURLEncoding.EncodeToString(sum[:])[:22]
}

// demoOrder is the Roster by uin in the order DemoOptions gives it: the
// first three open at load, the next four waiting, the rest idle in the
// order the control page's 新客户排队 and 同事转接 take them.
var demoOrder = []int64{
	// open at load: two ordinary fans and a look-alike.
	2873429811, 2873430156, 3311903105,
	// waiting: the ordinary, the two default-avatar nicknames, and a
	// second look-alike, so 接入, 全部接入 and 自动接入 each bring one
	// in while another is open.
	3054118723, 3127760394, 3127761082, 3311904472,
	// idle: look-alikes come next to wait or to be transferred in.
	3311902457, 2960015547, 3311905236, 3402287716, 3311902618,
	3189034420, 2987123305, 3311906017, 3250649981,
}

// DemoOptions are the options the demo console should run with: the whole
// Roster, with a look-alike (default avatar, 微信用户) open at page load,
// another waiting, and more next in line for the control page's
// 新客户排队 and 同事转接, so an agent trying the demo meets look-alikes by
// every path a chat arrives by. The zero Options keep the order tests
// were written against (Roster's first two open, the next three waiting).
func DemoOptions() Options {
	fans := make([]Fan, 0, len(Roster))
	for _, uin := range demoOrder {
		i := slices.IndexFunc(Roster, func(f Fan) bool { return f.UIN == uin })
		fans = append(fans, Roster[i])
	}
	return Options{Fans: fans, OpenAtLoad: 3, Waiting: 4}
}
