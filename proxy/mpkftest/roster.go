package mpkftest

import "strings"

// Fan is one WeChat user who writes to the mini-program's customer service.
// The console knows a fan by fans_uin; the shop knows them by openid, which
// the console only ever reveals in the accept and transfer responses.
type Fan struct {
	// UIN is the fan's fans_uin, the console's own id for the user.
	UIN int64
	// OpenID is the fan's fans_openid for the mini-program: 28 characters
	// starting with "o". Openids of one mini-program share a prefix, as
	// real ones do, so a sidebar cannot tell fans apart by a glance at it.
	OpenID string
	// Nickname is the user's WeChat nickname; several users may share one
	// ("微信用户" is what WeChat shows for users who never set one).
	Nickname string
	// AvatarID is the image id in the avatar URL. "" means the user has no
	// avatar: headimgurl is "" and the page shows a placeholder.
	AvatarID string
	// AvatarHost serves the avatar; "" means wx.qlogo.cn. Some users'
	// avatars are on thirdwx.qlogo.cn, which serves the same images.
	AvatarHost string
	// AvatarPath is the URL path of the avatar without the leading slash
	// and without the size segment; "" means "mmhead/" + AvatarID. Newer
	// avatars live under paths like "mmopen/vi_32/<id>".
	AvatarPath string
}

// avatarHosts are the hosts the simulated console serves avatars for.
var avatarHosts = []string{"wx.qlogo.cn", "thirdwx.qlogo.cn"}

func (f Fan) avatarHost() string {
	if f.AvatarHost == "" {
		return avatarHosts[0]
	}
	return f.AvatarHost
}

func (f Fan) avatarPath() string {
	if f.AvatarPath == "" {
		return "mmhead/" + f.AvatarID
	}
	return strings.Trim(f.AvatarPath, "/")
}

// AvatarJSON is the avatar as the console's JSON carries it (headimgurl):
// plain http and no size segment, e.g. "http://wx.qlogo.cn/mmhead/<id>".
// It is "" for a fan without an avatar.
func (f Fan) AvatarJSON() string {
	if f.AvatarID == "" {
		return ""
	}
	return "http://" + f.avatarHost() + "/" + f.avatarPath()
}

// AvatarPage is the avatar as the console's page shows it (<img src>):
// https with the 132-pixel size segment, e.g.
// "https://wx.qlogo.cn/mmhead/<id>/132". It is "" for a fan without an
// avatar. The proxy must find AvatarJSON's fan from this form.
func (f Fan) AvatarPage() string {
	if f.AvatarID == "" {
		return ""
	}
	return "https://" + f.avatarHost() + "/" + f.avatarPath() + "/132"
}

// DefaultAvatarID is the image id of WeChat's grey default avatar, which
// every user who never chose a picture shares. It is why an avatar alone
// cannot always tell two chats apart.
const DefaultAvatarID = "Q3auHgzwzM5sT6yRTQKyd5rV5hnBhiaHBnMfJsb1Ia6cicXF5l3QfKxyA"

// Roster is the default cast of the simulated console. The first two fans
// have chats open when the page loads and the next three are waiting
// (Options' defaults); the rest arrive when a test or the demo calls
// AddWaiting or TransferIn. DemoOrdersJSON has a customer for every fan
// but 赵先生.
//
// The cast covers what makes matching a chat to a customer hard:
//   - 林小满, 陈晓雯: ordinary fans with their own avatars, open at load
//     (林小满 has a parcel on the way, 陈晓雯 a refund in progress).
//   - 王建国: an ordinary fan, waiting at start.
//   - 周周 and 阿杰: both have the default avatar, with different
//     nicknames; both waiting at start.
//   - 微信用户 (UIN 3311902457) and 微信用户 (UIN 3311902618): the default
//     avatar AND the same nickname; only fans_uin (or asking the agent)
//     tells them apart.
//   - 李想: no avatar at all (headimgurl "").
//   - 🌸小桃子: avatar on thirdwx.qlogo.cn under mmopen/vi_32, and an emoji
//     in the nickname.
//   - 赵先生: not a customer of the demo shop (no record in DemoOrdersJSON).
//   - 吴佩琪: has a refunded order; the natural fan to transfer in.
//   - 孙浩然: the shop's best customer, six orders.
//   - four more 微信用户 with the default avatar (UINs 3311903105,
//     3311904472, 3311905236, 3311906017), each a different customer of
//     the shop (何静, 郭磊, 马丽, 高强), so a sidebar that shows one
//     look-alike's customer for another's chat shows a visibly wrong name,
//     phone and orders. Two open with a distinctive line, two with the
//     "你好"/"在吗" that many users send, which tells nobody apart.
//     DemoOptions puts them on every path: open at load, waiting, and
//     next in line for the control page's 新客户排队 and 同事转接.
var Roster = []Fan{
	{UIN: 2873429811, OpenID: "oVx3k5PtYgjmUhBel31iEl2hpChY", Nickname: "林小满", AvatarID: "Q3auHgzwzM4bZWOz648JJnUfd7UACNWiP3sFd67JikEAvstqVVPqzPA"},
	{UIN: 2873430156, OpenID: "oVx3k5gCfrL1spNxnyVmihA-2O76", Nickname: "陈晓雯", AvatarID: "Q3auHgzwzM7rWi0B26R08qzjI6GKFSufrdZSlB5er8bOfZqfM2oeq3g"},
	{UIN: 3054118723, OpenID: "oVx3k5UMFxFkM-R5Kjp1vRt_1fjO", Nickname: "王建国", AvatarID: "Q3auHgzwzM6icHTp8hkqdlm7tOtHWnsCGRlrwZbqcabUGJmGEp7CgQw"},
	{UIN: 3127760394, OpenID: "oVx3k5RS-6ilI8ihN5KXSc7Tvo-h", Nickname: "周周", AvatarID: DefaultAvatarID},
	{UIN: 3127761082, OpenID: "oVx3k5BKqFYY-kv5ZJr3J1TWDtkw", Nickname: "阿杰", AvatarID: DefaultAvatarID},
	{UIN: 3311902457, OpenID: "oVx3k5tDDb_xHKas1VOqg6YYZYn9", Nickname: "微信用户", AvatarID: DefaultAvatarID},
	{UIN: 3311902618, OpenID: "oVx3k5ZhyiA4uoRgnatmUdjAWtGS", Nickname: "微信用户", AvatarID: DefaultAvatarID},
	{UIN: 2960015547, OpenID: "oVx3k5U8po_799NksnRH9ucAUsdM", Nickname: "李想"},
	{UIN: 3402287716, OpenID: "oVx3k5lHUvTCQCyEZDz-TddJ8HyS", Nickname: "🌸小桃子", AvatarID: "UOizwd1iaeOV4qBkdfQ1y3GQsMpSscDlkrCaqx9vJupc94tnwlavyfErGPmp", AvatarHost: "thirdwx.qlogo.cn", AvatarPath: "mmopen/vi_32/UOizwd1iaeOV4qBkdfQ1y3GQsMpSscDlkrCaqx9vJupc94tnwlavyfErGPmp"},
	{UIN: 3189034420, OpenID: "oVx3k55SUkCnD8zRA9a9SkpXz9w3", Nickname: "赵先生", AvatarID: "Q3auHgzwzM5Xafq0fjzLczbttOofL9H2WjQ5TY4MyWuUFjsUNPjc0Q"},
	{UIN: 2987123305, OpenID: "oVx3k5QlY7Zkuvqdt7s8Stqcbnr3", Nickname: "吴佩琪", AvatarID: "Q3auHgzwzM40RLZ5TR9SPofbciOx9gy1CJdObOIRpFqaDZeV7G5IfQ"},
	{UIN: 3250649981, OpenID: "oVx3k5yBdGBLEPH1qhT61qtc4xat", Nickname: "孙浩然", AvatarID: "Q3auHgzwzM6pUWnoVPDF2yeE6RsXcNOPmeMjvqPVStNKiaEdFrRgSw"},
	{UIN: 3311903105, OpenID: "oVx3k5Ah8VrWV0W7dSBFDcpXTjeN", Nickname: "微信用户", AvatarID: DefaultAvatarID},
	{UIN: 3311904472, OpenID: "oVx3k5Nv2w9L7AdTjUihSjJpEFbU", Nickname: "微信用户", AvatarID: DefaultAvatarID},
	{UIN: 3311905236, OpenID: "oVx3k5fqfrs12NIg6470bX7KUYyA", Nickname: "微信用户", AvatarID: DefaultAvatarID},
	{UIN: 3311906017, OpenID: "oVx3k5fWQ5BEfo3771pw-hc8MDX3", Nickname: "微信用户", AvatarID: DefaultAvatarID},
}

// openingLines are what each Roster fan writes first, so that the demo's
// conversations fit the customer the sidebar shows. Other fans get one of
// genericLines.
var openingLines = map[int64][]string{
	2873429811: {"你好，我上周买的龙井发货了吗？", "物流好像一直没更新"},
	2873430156: {"收到的茶杯有一道裂纹", "我已经申请退款了，什么时候能处理？"},
	3054118723: {"在吗？想问下大红袍有没有小罐装的"},
	3127760394: {"我的订单能改地址吗"},
	3127761082: {"衬衫M码和L码差多少？"},
	3311902457: {"你好"},
	3311902618: {"保温杯能刻字吗？"},
	2960015547: {"普洱茶饼怎么保存比较好"},
	3402287716: {"围巾收到啦，颜色很好看", "想再买一条送朋友，有优惠吗"},
	3189034420: {"你们有线下门店吗？"},
	2987123305: {"退款已经到账了，谢谢", "另外想换个尺码重新买"},
	3250649981: {"老客户了，下单的茶叶想开发票"},
	3311903105: {"我买的白茶到哪了？"},
	3311904472: {"在吗"},
	3311905236: {"普洱茶饼有礼盒装吗？"},
	3311906017: {"你好"},
}

// genericLines open the conversations of fans that are not in Roster.
var genericLines = []string{
	"你好，在吗？",
	"我想咨询一下发货时间",
	"这个有现货吗？",
	"可以帮我查一下订单吗",
}

// followUps are plausible next messages from a fan, sent by the control
// endpoint when the operator does not type one.
var followUps = []string{
	"好的，谢谢",
	"大概什么时候能到？",
	"那麻烦帮我备注一下",
	"还有别的颜色吗？",
	"收到，辛苦了",
}

func opening(f Fan) []string {
	if lines, ok := openingLines[f.UIN]; ok {
		return lines
	}
	i := int(uint64(f.UIN) % uint64(len(genericLines)))
	return genericLines[i : i+1]
}
