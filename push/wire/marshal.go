package wire

import "bytes"

// Marshal writes fields as a push body in format f, the way WeChat writes
// them: XML under <xml> with strings in CDATA and numbers bare, an Array
// as the element repeated (<Actions> once per step); JSON as one object.
// Package wechattest sends what this writes.
func Marshal(f Format, fields []Node) []byte {
	var buf bytes.Buffer
	if f == JSON {
		writeJSONValue(&buf, Node{Kind: Object, Children: fields})
		return buf.Bytes()
	}
	buf.WriteString("<xml>")
	for _, n := range fields {
		writeXML(&buf, n)
	}
	buf.WriteString("</xml>")
	return buf.Bytes()
}

func writeXML(buf *bytes.Buffer, n Node) {
	if n.Kind == Array {
		for _, c := range n.Children {
			c.Name = n.Name
			writeXML(buf, c)
		}
		return
	}
	buf.WriteString("<" + n.Name + ">")
	switch n.Kind {
	case Object:
		for _, c := range n.Children {
			writeXML(buf, c)
		}
	case Number, Bool:
		buf.WriteString(n.Text)
	case Null:
	default:
		buf.WriteString(cdata(n.Text))
	}
	buf.WriteString("</" + n.Name + ">")
}
