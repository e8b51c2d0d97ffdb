// Package scan reads the console's responses: the JSON of its API (JSON:
// every object with a fans_openid is a chat user), the inline bootstrap of
// its page (Page, through a JavaScript-literal converter), its own quick
// replies (FastReplies) and its waiting list (WaitingList). The console's
// shapes are only partly known, so every parser takes them as evidence,
// not a promise, and is fuzzed.
//
// It is the only home of gjson and x/net/html's tokenizer for parsing.
package scan
