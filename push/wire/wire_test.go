package wire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/kfsidebar/kfsidebar/push/internal/pushtest"
	"github.com/kfsidebar/kfsidebar/push/wire"
)

const expressXML = `<xml>
  <ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>
  <FromUserName><![CDATA[oUser1]]></FromUserName>
  <CreateTime>1546924844</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[add_express_path]]></Event>
  <DeliveryID><![CDATA[SF]]></DeliveryID>
  <WayBillId><![CDATA[123456789]]></WayBillId>
  <OrderId><![CDATA[123456]]></OrderId>
  <Version>3</Version>
  <Count>2</Count>
  <Actions>
    <ActionTime>1546924840</ActionTime>
    <ActionType>100001</ActionType>
    <ActionMsg><![CDATA[小哥A揽件成功]]></ActionMsg>
  </Actions>
  <Actions>
    <ActionTime>1546924841</ActionTime>
    <ActionType>200001</ActionType>
    <ActionMsg><![CDATA[到达广州集包地]]></ActionMsg>
  </Actions>
</xml>`

const expressJSON = `{"ToUserName":"gh_97417a04a28d","FromUserName":"oUser1","CreateTime":1546924844,"MsgType":"event","Event":"add_express_path","DeliveryID":"SF","WayBillId":"123456789","OrderId":"123456","Version":3,"Count":2,"Actions":[{"ActionTime":1546924840,"ActionType":100001,"ActionMsg":"小哥A揽件成功"},{"ActionTime":1546924841,"ActionType":200001,"ActionMsg":"到达广州集包地"}]}`

func TestParseMessage(t *testing.T) {
	tests := []struct {
		name string
		body string
		want wire.Message
	}{
		{"text xml", `<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oA]]></FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[在吗]]></Content><MsgId>6054768590064713728</MsgId></xml>`,
			wire.Message{Format: wire.XML, ToUserName: "gh_1", FromUserName: "oA", MsgType: "text", CreateTime: "1409735668", MsgID: "6054768590064713728"}},
		{"text json, MsgId a number above 2^53", `{"ToUserName":"gh_1","FromUserName":"oA","CreateTime":1409735668,"MsgType":"text","Content":"在吗","MsgId":6054768590064713728}`,
			wire.Message{Format: wire.JSON, ToUserName: "gh_1", FromUserName: "oA", MsgType: "text", CreateTime: "1409735668", MsgID: "6054768590064713728"}},
		{"text json, MsgId a string", `{"ToUserName":"gh_1","FromUserName":"oA","CreateTime":1409735668,"MsgType":"text","Content":"x","MsgId":"6054768590064713729"}`,
			wire.Message{Format: wire.JSON, ToUserName: "gh_1", FromUserName: "oA", MsgType: "text", CreateTime: "1409735668", MsgID: "6054768590064713729"}},
		{"express xml", expressXML,
			wire.Message{Format: wire.XML, ToUserName: "gh_97417a04a28d", FromUserName: "oUser1", MsgType: "event", Event: "add_express_path", CreateTime: "1546924844"}},
		{"express json", expressJSON,
			wire.Message{Format: wire.JSON, ToUserName: "gh_97417a04a28d", FromUserName: "oUser1", MsgType: "event", Event: "add_express_path", CreateTime: "1546924844"}},
		{"BOM and white space", "\xef\xbb\xbf \n\t" + `{"FromUserName":"oA","MsgType":"image","MsgId":1}`,
			wire.Message{Format: wire.JSON, FromUserName: "oA", MsgType: "image", MsgID: "1"}},
		{"xml declaration and comment", `<?xml version="1.0" encoding="UTF-8"?><!-- hi --><xml><FromUserName>oA</FromUserName><MsgType>text</MsgType></xml>`,
			wire.Message{Format: wire.XML, FromUserName: "oA", MsgType: "text"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := wire.ParseMessage([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got := wire.Message{Format: m.Format, ToUserName: m.ToUserName, FromUserName: m.FromUserName, MsgType: m.MsgType,
				Event: m.Event, CreateTime: m.CreateTime, MsgID: m.MsgID}
			if got.Format != tt.want.Format || got.ToUserName != tt.want.ToUserName || got.FromUserName != tt.want.FromUserName ||
				got.MsgType != tt.want.MsgType || got.Event != tt.want.Event || got.CreateTime != tt.want.CreateTime || got.MsgID != tt.want.MsgID {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if string(m.Raw) != tt.body {
				t.Error("Raw is not the body byte for byte")
			}
		})
	}
}

// TestJSONKeepsWireNames checks the object targets receive: WeChat's names,
// Actions an array in both formats (even with one step), MsgId exact.
func TestJSONKeepsWireNames(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"express json is itself", expressJSON, expressJSON},
		{"express xml", expressXML, `{"ToUserName":"gh_97417a04a28d","FromUserName":"oUser1","CreateTime":"1546924844","MsgType":"event","Event":"add_express_path","DeliveryID":"SF","WayBillId":"123456789","OrderId":"123456","Version":"3","Count":"2","Actions":[{"ActionTime":"1546924840","ActionType":"100001","ActionMsg":"小哥A揽件成功"},{"ActionTime":"1546924841","ActionType":"200001","ActionMsg":"到达广州集包地"}]}`},
		{"one Actions is still a list", `<xml><FromUserName>o</FromUserName><MsgType>event</MsgType><Event>add_express_path</Event><Actions><ActionTime>1</ActionTime></Actions></xml>`,
			`{"FromUserName":"o","MsgType":"event","Event":"add_express_path","Actions":[{"ActionTime":"1"}]}`},
		{"json MsgId exact", "{\n \"FromUserName\": \"o\",\n \"MsgType\": \"text\",\n \"MsgId\": 6054768590064713728\n}", `{"FromUserName":"o","MsgType":"text","MsgId":6054768590064713728}`},
		{"xml escapes", `<xml><FromUserName>o</FromUserName><MsgType>text</MsgType><Content><![CDATA["a" & <b> \ ]]></Content></xml>`,
			`{"FromUserName":"o","MsgType":"text","Content":"\"a\" \u0026 \u003cb\u003e \\ "}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := wire.ParseMessage([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got := m.JSON()
			if string(got) != tt.want {
				t.Errorf("JSON =\n%s\nwant\n%s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Error("not valid JSON")
			}
		})
	}
}

func TestEnvelopeMode(t *testing.T) {
	vs := pushtest.Vectors(t)
	tests := []struct {
		name, body string
		mode       wire.Mode
		format     wire.Format
	}{
		{"V2 plain json", vs["V2"].Body, wire.Plain, wire.JSON},
		{"V3 safe json", vs["V3"].Body, wire.Safe, wire.JSON},
		{"V5 safe xml", vs["V5"].Body, wire.Safe, wire.XML},
		{"V6 safe xml", vs["V6"].Body, wire.Safe, wire.XML},
		{"V7 compatible xml", vs["V7"].Body, wire.Compatible, wire.XML},
		{"plain xml", expressXML, wire.Plain, wire.XML},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := wire.ParseEnvelope([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if e.Mode != tt.mode || e.Doc.Format != tt.format {
				t.Errorf("mode %s format %s, want %s %s", e.Mode, e.Doc.Format, tt.mode, tt.format)
			}
			if tt.mode != wire.Plain && e.Encrypt == "" {
				t.Error("no Encrypt")
			}
		})
	}
}

// TestHostileBodies refuses what no WeChat push looks like, each for its
// own reason; XXE first.
func TestHostileBodies(t *testing.T) {
	deep := strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40)
	many := "<xml>" + strings.Repeat("<a>1</a>", 3000) + "</xml>"
	tests := []struct {
		name, body string
		want       error
	}{
		{"XXE external entity", `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><FromUserName>&xxe;</FromUserName><MsgType>text</MsgType></xml>`, wire.ErrDoctype},
		{"billion laughs", `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><xml><Content>&lol2;</Content></xml>`, wire.ErrDoctype},
		{"undeclared entity", `<xml><FromUserName>&xxe;</FromUserName><MsgType>text</MsgType></xml>`, wire.ErrSyntax},
		{"GBK declared", `<?xml version="1.0" encoding="GBK"?><xml><FromUserName>o</FromUserName><MsgType>text</MsgType></xml>`, wire.ErrSyntax},
		{"unclosed xml", `<xml><FromUserName>o</FromUserName>`, wire.ErrSyntax},
		{"two roots", `<xml></xml><xml></xml>`, wire.ErrSyntax},
		{"deep xml", deep, wire.ErrTooDeep},
		{"many fields", many, wire.ErrTooMany},
		{"deep json", strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40), wire.ErrTooDeep},
		{"json array", `[{"MsgType":"text"}]`, wire.ErrNotObject},
		{"json trailing data", `{"FromUserName":"o","MsgType":"text"} {}`, wire.ErrSyntax},
		{"json truncated", `{"FromUserName":"o","MsgType":`, wire.ErrSyntax},
		{"json duplicate key", `{"FromUserName":"o","MsgType":"event","MsgType":"text"}`, wire.ErrDuplicateKey},
		{"xml repeats MsgType", `<xml><FromUserName>o</FromUserName><MsgType>event</MsgType><MsgType>text</MsgType></xml>`, wire.ErrDuplicateKey},
		{"neither", `MsgType=text`, wire.ErrFormat},
		{"empty", ``, wire.ErrFormat},
		{"no FromUserName", `{"MsgType":"text"}`, wire.ErrMissingField},
		{"no MsgType", `<xml><FromUserName>o</FromUserName></xml>`, wire.ErrMissingField},
		{"event without Event", `{"FromUserName":"o","MsgType":"event"}`, wire.ErrMissingField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := wire.ParseMessage([]byte(tt.body))
			if !errors.Is(err, tt.want) {
				t.Errorf("ParseMessage = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestReplies checks the reply contract's exact spelling in both formats,
// and that each reply parses back.
func TestReplies(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"transfer xml", wire.Transfer(wire.XML, "oUser", "gh_1", 1700000000),
			`<xml><ToUserName><![CDATA[oUser]]></ToUserName><FromUserName><![CDATA[gh_1]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>`},
		{"transfer json", wire.Transfer(wire.JSON, "oUser", "gh_1", 1700000000),
			`{"ToUserName":"oUser","FromUserName":"gh_1","CreateTime":1700000000,"MsgType":"transfer_customer_service"}`},
		{"encrypted xml", wire.Encrypted(wire.XML, "ELGd+/=", "1b93", 1713424427, "415670741"),
			`<xml><Encrypt><![CDATA[ELGd+/=]]></Encrypt><MsgSignature><![CDATA[1b93]]></MsgSignature><TimeStamp>1713424427</TimeStamp><Nonce><![CDATA[415670741]]></Nonce></xml>`},
		{"encrypted json", wire.Encrypted(wire.JSON, "ELGd+/=", "1b93", 1713424427, "415670741"),
			`{"Encrypt":"ELGd+/=","MsgSignature":"1b93","TimeStamp":1713424427,"Nonce":"415670741"}`},
		{"cdata cannot be closed early", wire.Transfer(wire.XML, "o]]><x>", "gh", 1),
			`<xml><ToUserName><![CDATA[o]]]]><![CDATA[><x>]]></ToUserName><FromUserName><![CDATA[gh]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Errorf("got  %s\nwant %s", tt.got, tt.want)
			}
			if _, err := wire.Parse(tt.got); err != nil {
				t.Errorf("reply does not parse: %v", err)
			}
		})
	}
	m, err := wire.ParseMessage(wire.Transfer(wire.XML, "o]]><x>", "gh", 1))
	if err != nil || m.ToUserName != "o]]><x>" {
		t.Errorf("split CDATA reads back as %q, %v", m.ToUserName, err)
	}
}

// TestMarshalRoundTrip writes each format and reads it back the same.
func TestMarshalRoundTrip(t *testing.T) {
	fields := []wire.Node{
		{Name: "ToUserName", Kind: wire.String, Text: "gh_1"},
		{Name: "FromUserName", Kind: wire.String, Text: "oA"},
		{Name: "CreateTime", Kind: wire.Number, Text: "1700000000"},
		{Name: "MsgType", Kind: wire.String, Text: "event"},
		{Name: "Event", Kind: wire.String, Text: "add_express_path"},
		{Name: "Actions", Kind: wire.Array, Children: []wire.Node{
			{Kind: wire.Object, Children: []wire.Node{{Name: "ActionTime", Kind: wire.Number, Text: "1"}, {Name: "ActionMsg", Kind: wire.String, Text: "揽件"}}},
		}},
	}
	for _, f := range []wire.Format{wire.XML, wire.JSON} {
		t.Run(f.String(), func(t *testing.T) {
			body := wire.Marshal(f, fields)
			m, err := wire.ParseMessage(body)
			if err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			if m.Format != f || m.Event != "add_express_path" || m.CreateTime != "1700000000" {
				t.Errorf("read back %+v from %s", m, body)
			}
			var v struct{ Actions []struct{ ActionMsg string } }
			if err := json.Unmarshal(m.JSON(), &v); err != nil || len(v.Actions) != 1 || v.Actions[0].ActionMsg != "揽件" {
				t.Errorf("Actions %+v, %v in %s", v, err, m.JSON())
			}
		})
	}
}

// FuzzParseEnvelope: any body is refused or parsed; a plain envelope's
// message is the one ParseMessage finds; a parsed message's JSON is valid
// and parses again to the same fields.
func FuzzParseEnvelope(f *testing.F) {
	for _, v := range pushtest.Vectors(f) {
		if v.Body != "" {
			f.Add([]byte(v.Body))
		}
	}
	f.Add([]byte(expressXML))
	f.Add([]byte(expressJSON))
	f.Add([]byte(`<!DOCTYPE x><xml/>`))
	f.Add([]byte(`<xml><FromUserName>o</FromUserName><MsgType>a</MsgType><X>1</X><X>2</X></xml>`))
	f.Add([]byte(`{"a":[1,{"b":null}],"c":true}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := wire.ParseEnvelope(body)
		if err != nil {
			return
		}
		m, err := wire.ParseMessage(body)
		pm, perr := e.PlainMessage(body)
		switch {
		case e.Mode != wire.Plain:
			if !errors.Is(perr, wire.ErrEncrypted) {
				t.Fatalf("PlainMessage of a %v envelope: %v", e.Mode, perr)
			}
		case (err == nil) != (perr == nil):
			t.Fatalf("ParseMessage: %v; PlainMessage: %v", err, perr)
		case err == nil && (pm.FromUserName != m.FromUserName || pm.MsgType != m.MsgType || pm.MsgID != m.MsgID ||
			pm.Event != m.Event || pm.CreateTime != m.CreateTime || !bytes.Equal(pm.JSON(), m.JSON())):
			t.Fatalf("PlainMessage %+v, ParseMessage %+v", pm, m)
		}
		if err != nil {
			return
		}
		j := m.JSON()
		if !json.Valid(j) {
			t.Fatalf("invalid JSON %q from %q", j, body)
		}
		m2, err := wire.ParseMessage(j)
		if err != nil {
			t.Fatalf("JSON %q does not parse back: %v", j, err)
		}
		if m2.MsgType != m.MsgType || m2.MsgID != m.MsgID || m2.Event != m.Event {
			t.Fatalf("fields changed: %+v vs %+v", m2, m)
		}
	})
}
