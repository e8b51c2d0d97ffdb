package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Mode is how a push arrived, as its body shows it. The admin can switch
// modes at any time, so the gateway decides per request.
type Mode uint8

// The three modes of WeChat's admin (明文模式, 兼容模式, 安全模式).
const (
	// Plain: the message in clear; only the query's signature is checked.
	Plain Mode = iota + 1
	// Compatible: the message in clear and an Encrypt field beside it.
	// The decrypted copy is the one believed.
	Compatible
	// Safe: only ToUserName and Encrypt. Replies are encrypted too.
	Safe
)

// String returns "plain", "compatible" or "safe".
func (m Mode) String() string {
	switch m {
	case Plain:
		return "plain"
	case Compatible:
		return "compatible"
	case Safe:
		return "safe"
	}
	return "unknown"
}

// Envelope is the body of a POST as WeChat sent it, before decryption.
type Envelope struct {
	// Doc is the body parsed.
	Doc *Doc
	// Mode is the mode the body shows.
	Mode Mode
	// Encrypt is the ciphertext; "" in plain mode.
	Encrypt string
}

// ParseEnvelope parses a POST body and tells its mode: an Encrypt field
// means an encrypted mode, compatible when the message's own fields
// (MsgType) stand beside it, safe otherwise.
func ParseEnvelope(body []byte) (*Envelope, error) {
	doc, err := Parse(body)
	if err != nil {
		return nil, err
	}
	if doc.count("Encrypt") > 1 {
		return nil, fmt.Errorf("%w: Encrypt", ErrDuplicateKey)
	}
	e := &Envelope{Doc: doc, Mode: Plain}
	if enc, ok := doc.Get("Encrypt"); ok {
		e.Encrypt = enc
		e.Mode = Safe
		if doc.Has("MsgType") {
			e.Mode = Compatible
		}
	}
	return e, nil
}

// Message is one push: a user's message or an event.
type Message struct {
	// Format is the message's own format (the decrypted text's, in the
	// encrypted modes: WeChat encrypts the same format it was set to).
	Format Format
	// Raw is the message exactly as received or decrypted, byte for byte.
	Raw []byte
	// Doc is Raw parsed.
	Doc *Doc

	// The fields every push has, as text.
	ToUserName   string // the mini program's original id (gh_…)
	FromUserName string // the user's openid
	MsgType      string // text, image, miniprogrampage, event, …
	Event        string // for MsgType event: add_express_path, user_enter_tempsession, …
	CreateTime   string // unix seconds, as sent
	// MsgID is a user message's MsgId, a number or a string on the wire,
	// kept as its decimal text; "" for events.
	MsgID string
}

// ParseMessage parses a message (the plain body, or a decrypted one).
// FromUserName and MsgType are required: without them there is nobody to
// transfer and nothing to route.
func ParseMessage(raw []byte) (*Message, error) {
	doc, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	return messageFrom(doc, raw)
}

// PlainMessage is the message of a plain-mode envelope, from the body
// ParseEnvelope has already parsed: the body is parsed once.
func (e *Envelope) PlainMessage(body []byte) (*Message, error) {
	if e.Mode != Plain {
		return nil, ErrEncrypted
	}
	return messageFrom(e.Doc, body)
}

// coreNames are the fields the gateway decides by. An XML body that
// repeats one is refused: which copy counts must not be a guess.
var coreNames = []string{"ToUserName", "FromUserName", "MsgType", "Event", "CreateTime", "MsgId"}

func messageFrom(doc *Doc, raw []byte) (*Message, error) {
	for _, name := range coreNames {
		if doc.count(name) > 1 {
			return nil, fmt.Errorf("%w: %s", ErrDuplicateKey, name)
		}
	}
	m := &Message{Format: doc.Format, Raw: raw, Doc: doc}
	m.ToUserName, _ = doc.Get("ToUserName")
	m.FromUserName, _ = doc.Get("FromUserName")
	m.MsgType, _ = doc.Get("MsgType")
	m.Event, _ = doc.Get("Event")
	m.CreateTime, _ = doc.Get("CreateTime")
	m.MsgID, _ = doc.Get("MsgId")
	switch {
	case m.FromUserName == "":
		return nil, fmt.Errorf("%w: FromUserName", ErrMissingField)
	case m.MsgType == "":
		return nil, fmt.Errorf("%w: MsgType", ErrMissingField)
	case m.MsgType == "event" && m.Event == "":
		return nil, fmt.Errorf("%w: Event", ErrMissingField)
	}
	return m, nil
}

// IsEvent reports whether the push is an event: events are never
// transferred to customer service and always answered "success".
func (m *Message) IsEvent() bool { return m.MsgType == "event" }

// Field returns the text of a top-level scalar field, "" when absent.
func (m *Message) Field(name string) string {
	s, _ := m.Doc.Get(name)
	return s
}

// listNames are XML elements that are lists even when WeChat sends one:
// add_express_path's <Actions> repeats once per tracking step, so a
// single step must still reach targets as a one-element array.
var listNames = map[string]bool{"Actions": true}

// JSON returns the message as a JSON object with WeChat's wire names. A
// JSON push is its own text, compacted (numbers keep their literal: MsgId
// stays exact). An XML push becomes an object whose leaves are strings (XML
// has no types), whose repeated elements and <Actions> become arrays.
func (m *Message) JSON() json.RawMessage {
	if m.Format == JSON {
		var buf bytes.Buffer
		if json.Compact(&buf, m.Raw) == nil {
			return buf.Bytes()
		}
	}
	var buf bytes.Buffer
	writeJSONObject(&buf, m.Doc.Root.Children)
	return buf.Bytes()
}

func writeJSONObject(buf *bytes.Buffer, fields []Node) {
	buf.WriteByte('{')
	done := map[string]bool{}
	first := true
	for i, f := range fields {
		if done[f.Name] {
			continue
		}
		done[f.Name] = true
		var same []Node
		for _, g := range fields[i:] {
			if g.Name == f.Name {
				same = append(same, g)
			}
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		writeJSONString(buf, f.Name)
		buf.WriteByte(':')
		if len(same) == 1 && (f.Kind == Array || !listNames[f.Name]) {
			writeJSONValue(buf, f)
			continue
		}
		buf.WriteByte('[')
		for j, g := range same {
			if j > 0 {
				buf.WriteByte(',')
			}
			writeJSONValue(buf, g)
		}
		buf.WriteByte(']')
	}
	buf.WriteByte('}')
}

func writeJSONValue(buf *bytes.Buffer, n Node) {
	switch n.Kind {
	case Object:
		writeJSONObject(buf, n.Children)
	case Array:
		buf.WriteByte('[')
		for i, c := range n.Children {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONValue(buf, c)
		}
		buf.WriteByte(']')
	case Number, Bool:
		buf.WriteString(n.Text)
	case Null:
		buf.WriteString("null")
	default:
		writeJSONString(buf, n.Text)
	}
}

// writeJSONString quotes s; invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func writeJSONString(buf *bytes.Buffer, s string) {
	if !utf8.ValidString(s) {
		s = string(bytes.ToValidUTF8([]byte(s), []byte("\uFFFD")))
	}
	b, _ := json.Marshal(s)
	buf.Write(b)
}

// CreateTimeUnix parses CreateTime; 0 when it is not a number.
func (m *Message) CreateTimeUnix() int64 {
	n, _ := strconv.ParseInt(m.CreateTime, 10, 64)
	return n
}
