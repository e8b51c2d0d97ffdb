package console

// Query is what the page knows about the selected chat. Any field may be
// empty; the resolver (Sessions.Resolve) weighs them, strongest first.
type Query struct {
	// Opened is the fansuin of the console's own history request for the
	// chat the agent just opened (kfmsg?action=getfansmsglist&fansuin=…),
	// seen passively in the page: the strongest evidence of which chat is
	// on screen, because the console itself asked for it.
	Opened string `json:"opened,omitempty"`
	// UIN is the card's fans_uin, from data-reactid "…$<uin>" when the
	// console still renders it.
	UIN string `json:"uin,omitempty"`
	// Avatar is the card's avatar <img src>; Nickname its nickname text.
	Avatar   string `json:"avatar,omitempty"`
	Nickname string `json:"nickname,omitempty"`
	// Peers is how many chat cards in the page show this avatar and this
	// nickname, the selected one included; 0 means the page did not say.
	// Two look-alike cards on screen mean the avatar and the nickname
	// cannot tell them apart, whatever the map knows.
	Peers int `json:"peers,omitempty"`
}

// How a Resolution's Record was found, strongest first.
const (
	// EvidenceOpened: Query.Opened names the user (and the card agrees).
	EvidenceOpened = "opened"
	// EvidenceUIN: the card's fans_uin names the user.
	EvidenceUIN = "uin"
	// EvidenceAvatar: only one known user has the card's avatar and
	// nickname, and nothing says another might.
	EvidenceAvatar = "avatar"
	// EvidenceQueued: the card's (or the history request's) fans_uin has
	// no record yet, but the user's queued message in the waiting list
	// matches exactly one user's message that the shop's push gateway
	// received, by text and time (chats.Sessions.AddWaiting). Weaker than
	// the console's own evidence, which always wins.
	EvidenceQueued = "queued"
)

// Resolution answers a Query.
//
// Record is the user when the evidence points to exactly one and nothing
// stronger contradicts it; Evidence then says how it was found.
// Otherwise Record is nil: the evidence conflicts or is not enough yet,
// and the caller waits briefly for stronger evidence (a record learned
// later, the console's history request) before asking the agent to pick
// one of Candidates.
//
// Candidates are the users the chat may be, newest first: never one whose
// fans_uin or nickname rules it out. They include Record, so an agent who
// says "not this one" can be offered the others. Empty means nobody known
// fits.
type Resolution struct {
	Record     *Record
	Evidence   string
	Candidates []Record
}
