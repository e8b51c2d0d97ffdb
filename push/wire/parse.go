package wire

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Format is a push body's format, chosen per request from its first
// character: the admin can switch between XML and JSON at any time, and
// WeChat's Content-Type does not reliably say which.
type Format uint8

// The two body formats.
const (
	XML Format = iota + 1
	JSON
)

// String returns "xml" or "json", the names used in logs, the status page
// and the outbox payload.
func (f Format) String() string {
	switch f {
	case XML:
		return "xml"
	case JSON:
		return "json"
	}
	return "unknown"
}

// ContentType is the Content-Type of a reply in this format.
func (f Format) ContentType() string {
	if f == JSON {
		return "application/json; charset=utf-8"
	}
	return "application/xml; charset=utf-8"
}

// Limits on a body's shape. WeChat's pushes nest three deep
// (xml > Actions > ActionMsg) and hold a few dozen fields.
const (
	maxDepth = 16
	maxNodes = 2048
)

// Kind is what a Node holds.
type Kind uint8

// Node kinds. XML leaves are always String: XML has no types.
const (
	String Kind = iota + 1
	Number
	Bool
	Null
	Object
	Array
)

// Node is one value of a push document in either format. An XML element
// with child elements is an Object; repeated child elements stay repeated
// in Children, in document order, as the XML has them.
type Node struct {
	// Name is the wire name; "" for the elements of a JSON array.
	Name string
	// Kind is what the node holds.
	Kind Kind
	// Text is a scalar's value: a JSON string unquoted, a JSON number's
	// literal exactly as written, an XML element's character data.
	Text string
	// Children are an Object's fields or an Array's elements.
	Children []Node
}

// Doc is a parsed push body.
type Doc struct {
	// Format is the body's format.
	Format Format
	// Root is the top object (XML: the root element, usually <xml>).
	Root Node
}

// Parse parses a push body, detecting its format from the first character
// that is not white space (after an optional UTF-8 byte order mark).
func Parse(body []byte) (*Doc, error) {
	b := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(b) == 0 {
		return nil, ErrFormat
	}
	switch b[0] {
	case '<':
		root, err := parseXML(b)
		if err != nil {
			return nil, err
		}
		return &Doc{Format: XML, Root: root}, nil
	case '{':
		root, err := parseJSON(b)
		if err != nil {
			return nil, err
		}
		return &Doc{Format: JSON, Root: root}, nil
	case '[', '"':
		return nil, ErrNotObject
	}
	return nil, ErrFormat
}

// Get returns the text of the first top-level scalar field called name.
func (d *Doc) Get(name string) (string, bool) {
	for _, c := range d.Root.Children {
		if c.Name == name && c.Kind != Object && c.Kind != Array {
			return c.Text, true
		}
	}
	return "", false
}

// count is how many top-level fields are called name.
func (d *Doc) count(name string) int {
	n := 0
	for _, c := range d.Root.Children {
		if c.Name == name {
			n++
		}
	}
	return n
}

// Has reports whether the document has a top-level field called name.
func (d *Doc) Has(name string) bool {
	for _, c := range d.Root.Children {
		if c.Name == name {
			return true
		}
	}
	return false
}

func parseXML(b []byte) (Node, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	// No CharsetReader: a declared encoding other than UTF-8 is an error,
	// and no entity beyond XML's five predefined ones is ever expanded.
	var (
		stack []*Node
		root  Node
		done  bool
		nodes int
	)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if !done {
				return Node{}, ErrSyntax
			}
			return root, nil
		}
		if err != nil {
			return Node{}, fmt.Errorf("%w: %v", ErrSyntax, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return Node{}, ErrDoctype
		case xml.StartElement:
			if done {
				return Node{}, fmt.Errorf("%w: content after the root element", ErrSyntax)
			}
			if len(stack) >= maxDepth {
				return Node{}, ErrTooDeep
			}
			if nodes++; nodes > maxNodes {
				return Node{}, ErrTooMany
			}
			n := Node{Name: t.Name.Local, Kind: String}
			if len(stack) == 0 {
				root = n
				stack = append(stack, &root)
				continue
			}
			parent := stack[len(stack)-1]
			parent.Kind = Object
			parent.Text = ""
			parent.Children = append(parent.Children, n)
			stack = append(stack, &parent.Children[len(parent.Children)-1])
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				done = true
			}
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return Node{}, fmt.Errorf("%w: text outside the root element", ErrSyntax)
				}
				continue
			}
			if top := stack[len(stack)-1]; top.Kind == String {
				top.Text += string(t)
			}
		}
	}
}

func parseJSON(b []byte) (Node, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	nodes := 0
	root, err := jsonValue(dec, "", 0, &nodes)
	if err != nil {
		return Node{}, err
	}
	if root.Kind != Object {
		return Node{}, ErrNotObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return Node{}, fmt.Errorf("%w: data after the object", ErrSyntax)
	}
	return root, nil
}

func jsonValue(dec *json.Decoder, name string, depth int, nodes *int) (Node, error) {
	if depth > maxDepth {
		return Node{}, ErrTooDeep
	}
	if *nodes++; *nodes > maxNodes {
		return Node{}, ErrTooMany
	}
	tok, err := dec.Token()
	if err != nil {
		return Node{}, jsonErr(err)
	}
	n := Node{Name: name}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n.Kind = Object
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return Node{}, jsonErr(err)
				}
				key, _ := kt.(string)
				if seen[key] {
					return Node{}, fmt.Errorf("%w: %q", ErrDuplicateKey, key)
				}
				seen[key] = true
				c, err := jsonValue(dec, key, depth+1, nodes)
				if err != nil {
					return Node{}, err
				}
				n.Children = append(n.Children, c)
			}
		case '[':
			n.Kind = Array
			for dec.More() {
				c, err := jsonValue(dec, "", depth+1, nodes)
				if err != nil {
					return Node{}, err
				}
				n.Children = append(n.Children, c)
			}
		default:
			return Node{}, ErrSyntax
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return Node{}, jsonErr(err)
		}
	case string:
		n.Kind, n.Text = String, t
	case json.Number:
		n.Kind, n.Text = Number, t.String()
	case bool:
		n.Kind, n.Text = Bool, fmt.Sprint(t)
	case nil:
		n.Kind = Null
	}
	return n, nil
}

func jsonErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated JSON", ErrSyntax)
	}
	return fmt.Errorf("%w: %s", ErrSyntax, strings.TrimPrefix(err.Error(), "json: "))
}
