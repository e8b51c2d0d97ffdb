package proxy

// Query is what the page knows about the selected chat: the card's fans_uin
// (from data-reactid "$<uin>", when the console still renders it), the avatar
// <img src> and the nickname text. Any field may be empty.
type Query struct {
	UIN      string `json:"uin,omitempty"`
	Avatar   string `json:"avatar,omitempty"`
	Nickname string `json:"nickname,omitempty"`
}

// Resolution answers a Query. Exactly one of these holds:
//   - Record != nil: the chat is this user;
//   - len(Candidates) >= 2: several users share the avatar and the nickname
//     does not tell them apart; the agent picks one;
//   - neither: nobody known matches (yet).
type Resolution struct {
	Record     *Record
	Candidates []Record
}
