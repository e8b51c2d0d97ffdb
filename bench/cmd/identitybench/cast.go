package main

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/kfsidebar/kfsidebar/proxy/mpkftest"
)

// fanKind is how a fan looks in the console, which decides what a sidebar
// can tell from the page.
type fanKind int

const (
	// kindLookAlike: WeChat's default avatar and the nickname 微信用户,
	// like many others; nothing on the page tells them apart.
	kindLookAlike fanKind = iota
	// kindDefaultAvatar: the default avatar with a nickname of their own.
	kindDefaultAvatar
	// kindNoAvatar: no avatar at all (headimgurl "").
	kindNoAvatar
	// kindOwn: an avatar of their own.
	kindOwn
	nKinds
)

func (k fanKind) String() string {
	return [...]string{"look-alike", "default avatar", "no avatar", "own avatar"}[k]
}

// customer is a fan as the shop knows them.
type customer struct {
	OpenID, Name, Phone, Item, Address string
	PriceFen                           int64
}

// cast is the day's fans: who they are in the console and in the shop.
type cast struct {
	fans      []mpkftest.Fan
	kind      map[int64]fanKind
	openid    map[int64]string
	byOpenID  map[string]int64
	customers []customer
}

// distinctBase is where the distinct fans' uins start: away from
// mpkftest's Roster and LookAlikes.
const distinctBase = 3_900_000_000

var (
	nickFirst = []string{"小", "阿", "大", "老", "", "", "Miss ", "🍀"}
	nickLast  = []string{"雨", "杰", "明", "芳", "静", "伟", "娜", "鹏", "婷", "磊", "涛", "慧", "琳", "晨", "宇", "欣", "浩", "颖", "凯", "倩", "Lily", "Kevin", "橙子", "木木"}
	surnames  = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
	given     = []string{"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "华", "建平", "婷婷", "子涵", "一鸣", "思远", "晓东", "雪梅", "志刚", "海燕", "文博", "欣怡"}
	goods     = []struct {
		title string
		fen   int64
	}{{"明前龙井 250g 礼盒装", 16800}, {"安吉白茶 100g", 9800}, {"316不锈钢保温杯 500ml 雾白", 12900}, {"手作粗陶品茗杯 180ml", 4800},
		{"云南古树普洱 357g 饼茶", 19800}, {"真丝印花围巾 雾蓝", 15900}, {"棉麻立领衬衫 女款 米白 M", 22900}, {"竹制干泡茶盘", 6800}}
	cities = []string{"浙江省杭州市西湖区文三路", "江苏省南京市鼓楼区中山北路", "广东省深圳市南山区科技园", "四川省成都市武侯区人民南路", "北京市朝阳区建国路", "上海市浦东新区世纪大道"}
)

// newCast makes chats fans, a share lookAlike of them look-alikes
// (mpkftest.LookAlikes) and the rest distinct: one in five of those with
// the default avatar and a nickname of their own, one in ten without an
// avatar, the others with their own. Each is a different customer of the
// shop with a different name, phone and order. The order is shuffled by
// rng, then the first atLoad (open at page load) and the next waiting
// (waiting at start) each get a look-alike when there are any.
func newCast(rng *rand.Rand, chats int, lookAlike float64, atLoad, waiting int) *cast {
	nLA := int(math.Round(float64(chats) * lookAlike))
	c := &cast{kind: map[int64]fanKind{}, openid: map[int64]string{}, byOpenID: map[string]int64{}}
	for _, f := range mpkftest.LookAlikes(nLA) {
		c.add(f, kindLookAlike)
	}
	nicks := map[string]bool{}
	for i := range chats - nLA {
		f := mpkftest.Fan{
			UIN:    distinctBase + int64(i)*101 + 3,
			OpenID: fmt.Sprintf("oVx3k5IB%020d", i),
		}
		for f.Nickname == "" || nicks[f.Nickname] || f.Nickname == mpkftest.LookAlikeNickname {
			f.Nickname = nickFirst[rng.IntN(len(nickFirst))] + nickLast[rng.IntN(len(nickLast))]
			if nicks[f.Nickname] {
				f.Nickname += fmt.Sprint(rng.IntN(100))
			}
		}
		nicks[f.Nickname] = true
		kind := kindOwn
		switch p := rng.Float64(); {
		case p < 0.2:
			kind, f.AvatarID = kindDefaultAvatar, mpkftest.DefaultAvatarID
		case p < 0.3:
			kind = kindNoAvatar
		default:
			f.AvatarID = fmt.Sprintf("Q3auHgzwzM%016x%016x%012x", rng.Uint64(), rng.Uint64(), rng.Uint64()>>16)
		}
		c.add(f, kind)
	}
	rng.Shuffle(len(c.fans), func(i, j int) { c.fans[i], c.fans[j] = c.fans[j], c.fans[i] })
	c.lookAlikeIn(0, atLoad)
	c.lookAlikeIn(atLoad, atLoad+waiting)
	names := map[string]bool{}
	for i, f := range c.fans {
		name := ""
		for name == "" || names[name] {
			name = string(surnames[rng.IntN(len(surnames))]) + given[rng.IntN(len(given))]
		}
		names[name] = true
		g := goods[rng.IntN(len(goods))]
		c.customers = append(c.customers, customer{
			OpenID: f.OpenID, Name: name, Phone: fmt.Sprintf("13%09d", 100_000_000+i*7919%800_000_000),
			Item: g.title, PriceFen: g.fen,
			Address: fmt.Sprintf("%s%d号 %s 收", cities[rng.IntN(len(cities))], 1+rng.IntN(900), name),
		})
	}
	return c
}

func (c *cast) add(f mpkftest.Fan, k fanKind) {
	c.fans = append(c.fans, f)
	c.kind[f.UIN] = k
	c.openid[f.UIN] = f.OpenID
	c.byOpenID[f.OpenID] = f.UIN
}

// lookAlikeIn moves a look-alike into fans[from:to] when none is there.
func (c *cast) lookAlikeIn(from, to int) {
	to = min(to, len(c.fans))
	for i := from; i < to; i++ {
		if c.kind[c.fans[i].UIN] == kindLookAlike {
			return
		}
	}
	for j := to; j < len(c.fans); j++ {
		if c.kind[c.fans[j].UIN] == kindLookAlike && from < to {
			c.fans[from], c.fans[j] = c.fans[j], c.fans[from]
			return
		}
	}
}

// openidOf is the openid of uin's user, "" for nobody.
func (c *cast) openidOf(uin int64) string { return c.openid[uin] }

// describe names a fan for the report, without customer data.
func (c *cast) describe(openid string) string {
	if openid == "" {
		return "-"
	}
	uin, ok := c.byOpenID[openid]
	if !ok {
		return "nobody of this day"
	}
	return fmt.Sprintf("%s %d", c.kind[uin], uin)
}
