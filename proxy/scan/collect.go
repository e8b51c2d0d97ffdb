package scan

import (
	"bytes"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/kfsidebar/kfsidebar/proxy/console"
)

// collector gathers records across one or more JSON documents. It reads a
// document in one pass, validating it as it goes, because walking it level
// by level rescans every byte once per level, too slow for a 1 MB accept
// response, and a separate validation pass read every byte once more.
//
// Everything it keeps between documents is in slices that grow once and
// are reused through collectors: a record costs only the strings the
// caller keeps.
type collector struct {
	doc     []byte    // the document being walked; nil between walks
	found   []located // records, in the order their objects close
	stack   []frame
	dec     []byte  // decoded values of found's records, back to back
	scratch []byte  // a key or ret with escapes, decoded
	slots   []int32 // result's open-addressing table: 1 + index into firsts, 0 empty
	firsts  []int32 // result: index into found of each openid's first record
	base    int     // offset of the current document among all scanned
	budget  int     // bytes Page may still convert
}

// located is a record found: where its object opens (for document order)
// and its values, decoded into collector.dec.
type located struct {
	start int
	vals  [numValues]span
}

// frame is one open object or array while walking a document.
type frame struct {
	object    bool
	ignored   bool // deeper than maxScanDepth
	failed    bool // object: its base_resp.ret is non-zero
	retFailed bool // object: its own ret is non-zero (it is a base_resp)
	key       field
	field     field // the key this container is the value of
	start     int   // where the container opens, for document order
	mark      int   // len(collector.found) when it opened
	decMark   int   // len(collector.dec) when it opened
	// values are the raw JSON of the record's fields in the document; an
	// empty span is no value.
	values [numValues]span
}

// The values a record is made of.
const (
	valueOpenID = iota
	valueNickname
	valueHeadImg
	valueUIN
	valueSession
	numValues
)

// valueFields maps a field to its value slot; -1 for fields that are not
// record values.
var valueFields = [...]int{fieldOther: -1, fieldOpenID: valueOpenID, fieldNickname: valueNickname,
	fieldHeadImg: valueHeadImg, fieldUIN: valueUIN, fieldSession: valueSession, fieldBaseResp: -1, fieldRet: -1}

var collectors = sync.Pool{New: func() any { return new(collector) }}

// maxPooledBytes is the most a collector may hold to go back to the pool:
// one that scanned a huge document gives its memory back to the GC.
const maxPooledBytes = 1 << 20

func getCollector() *collector { return collectors.Get().(*collector) }

func putCollector(c *collector) {
	size := cap(c.found)*int(unsafe.Sizeof(located{})) + cap(c.stack)*int(unsafe.Sizeof(frame{})) + cap(c.dec) +
		cap(c.scratch) + 4*(cap(c.slots)+cap(c.firsts))
	if size > maxPooledBytes {
		return
	}
	*c = collector{found: c.found[:0], stack: c.stack[:0], dec: c.dec[:0], scratch: c.scratch[:0],
		slots: c.slots[:0], firsts: c.firsts[:0]}
	collectors.Put(c)
}

// scanDoc walks one document, collecting its records, and reports whether
// it is valid JSON (RFC 8259, as gjson.Valid judges it) nested at most
// maxNesting deep. The records of an invalid document are dropped. An
// object's record is found when it closes, after its children's, and is
// dropped with theirs if its base_resp says it failed.
func (c *collector) scanDoc(doc []byte) bool {
	mark, decMark := len(c.found), len(c.dec)
	c.doc, c.stack = doc, c.stack[:0]
	ok := c.walk()
	if !ok {
		c.found, c.dec = c.found[:mark], c.dec[:decMark]
	}
	c.doc = nil
	c.base += len(doc)
	return ok
}

// What the walker expects next.
const (
	wantValue      = iota // a value: at the top, after ':', after ',' in an array
	wantValueOrEnd        // after '[': a value or ']'
	wantKeyOrEnd          // after '{': a key or '}'
	wantKey               // after ',' in an object
	wantColon             // after a key
	wantNext              // after a value: ',' or the container's end; at the top, only space
)

func (c *collector) walk() bool {
	doc := c.doc
	state := wantValue
	for i := 0; ; {
		for i < len(doc) && doc[i] <= ' ' && isJSONSpace(doc[i]) {
			i++
		}
		if i == len(doc) {
			return state == wantNext && len(c.stack) == 0
		}
		ch := doc[i]
		switch state {
		case wantKeyOrEnd, wantKey:
			if ch == '}' && state == wantKeyOrEnd {
				c.close()
				i, state = i+1, wantNext
				continue
			}
			if ch != '"' {
				return false
			}
			end, escaped := validString(doc, i)
			if end < 0 {
				return false
			}
			f := &c.stack[len(c.stack)-1]
			if escaped {
				c.scratch = appendUnquoted(c.scratch[:0], doc[i:end])
				f.key = fieldNamed(c.scratch)
			} else {
				f.key = fieldNamed(doc[i+1 : end-1])
			}
			i, state = end, wantColon
		case wantColon:
			if ch != ':' {
				return false
			}
			i, state = i+1, wantValue
		case wantNext:
			top := len(c.stack) - 1
			if top < 0 {
				return false // something after the document
			}
			f := &c.stack[top]
			switch {
			case ch == ',' && f.object:
				i, state, f.key = i+1, wantKey, fieldOther
			case ch == ',':
				i, state = i+1, wantValue
			case ch == '}' && f.object, ch == ']' && !f.object:
				c.close()
				i++
			default:
				return false
			}
		default: // wantValue, wantValueOrEnd
			var end int
			switch {
			case ch == ']' && state == wantValueOrEnd:
				c.close()
				i, state = i+1, wantNext
				continue
			case ch == '{' || ch == '[':
				if len(c.stack) >= maxNesting {
					return false
				}
				c.open(ch == '{', i)
				i, state = i+1, wantValueOrEnd
				if ch == '{' {
					state = wantKeyOrEnd
				}
				continue
			case ch == '"':
				end, _ = validString(doc, i)
			case ch == '-' || isDigit(ch):
				end = validNumber(doc, i)
			case ch == 't':
				end = validWord(doc, i, "true")
			case ch == 'f':
				end = validWord(doc, i, "false")
			case ch == 'n':
				end = validWord(doc, i, "null")
			default:
				return false
			}
			if end < 0 {
				return false
			}
			if top := len(c.stack) - 1; top >= 0 && c.stack[top].object && c.stack[top].key != fieldOther {
				c.set(&c.stack[top], span{i, end})
			}
			i, state = end, wantNext
		}
	}
}

// open pushes the container that starts at doc[i].
func (c *collector) open(object bool, i int) {
	f := frame{object: object, start: c.base + i, mark: len(c.found), decMark: len(c.dec)}
	if top := len(c.stack) - 1; top >= 0 {
		p := &c.stack[top]
		f.field = p.key
		f.ignored = p.ignored || top+1 >= maxScanDepth
		if p.object && p.key != fieldOther {
			c.set(p, span{}) // a container is not a usable string or id
		}
	}
	c.stack = append(c.stack, f)
}

// close pops the innermost container, keeping its record or dropping its
// children's.
func (c *collector) close() {
	top := len(c.stack) - 1
	f := &c.stack[top]
	if top > 0 && f.object && f.field == fieldBaseResp {
		c.stack[top-1].failed = f.retFailed
	}
	switch openid := f.values[valueOpenID]; {
	case !f.object:
	case f.failed:
		c.found, c.dec = c.found[:f.mark], c.dec[:f.decMark]
	case openid.end-openid.start > len(`""`) && !f.ignored:
		c.found = append(c.found, c.record(f))
	}
	c.stack = c.stack[:top]
}

// set records the value v (a JSON string, number or literal; empty for a
// container) of f's current key. Values stay raw until the object turns
// out to be a record; only ret is judged at once.
func (c *collector) set(f *frame, v span) {
	raw := c.doc[v.start:v.end]
	isString := len(raw) > 0 && raw[0] == '"'
	isNumber := len(raw) > 0 && (raw[0] == '-' || isDigit(raw[0]))
	if f.key == fieldRet {
		// A ret that is not a number or a string is not a failure.
		switch {
		case isNumber:
			f.retFailed = string(raw) != "0" && !isZero(raw)
		case isString:
			c.scratch = appendUnquoted(c.scratch[:0], raw)
			t := bytes.TrimSpace(c.scratch)
			f.retFailed = len(t) > 0 && string(t) != "0"
		default:
			f.retFailed = false
		}
		return
	}
	slot := valueFields[f.key]
	if slot < 0 || f.ignored {
		return
	}
	// Only strings count as openid, nickname and avatar; ids may also be
	// numbers, whose raw text keeps every digit.
	if !isString && !(isNumber && (slot == valueUIN || slot == valueSession)) {
		v = span{}
	}
	f.values[slot] = v
}

// isZero reports whether a JSON number is zero (0.0, -0e5, …).
func isZero(num []byte) bool {
	v, err := strconv.ParseFloat(string(num), 64)
	return err == nil && v == 0
}

// record decodes f's values into c.dec.
func (c *collector) record(f *frame) located {
	l := located{start: f.start}
	for i, v := range f.values {
		raw := c.doc[v.start:v.end]
		start := len(c.dec)
		if len(raw) > 0 && raw[0] == '"' {
			c.dec = appendUnquoted(c.dec, raw)
		} else {
			c.dec = append(c.dec, raw...)
		}
		end := len(c.dec)
		if i == valueUIN || i == valueSession {
			for start < end && isJSSpace(c.dec[start]) {
				start++
			}
			for end > start && isJSSpace(c.dec[end-1]) {
				end--
			}
		}
		l.vals[i] = span{start, end}
	}
	return l
}

// seed keys result's table of openids.
var seed = maphash.MakeSeed()

// result returns one console.Record per openid, in the order their objects
// open; for an openid seen twice, later non-empty fields win. The records'
// strings are new (one allocation per record), so they pin no document.
func (c *collector) result(source string, now time.Time) []console.Record {
	if len(c.found) == 0 {
		return nil
	}
	byStart := func(a, b located) int { return a.start - b.start }
	if !slices.IsSortedFunc(c.found, byStart) {
		slices.SortStableFunc(c.found, byStart) // an object with a record inside a record
	}
	size := 4
	for size < 2*len(c.found) {
		size *= 2
	}
	c.slots = slices.Grow(c.slots[:0], size)[:size]
	clear(c.slots)
	c.firsts = c.firsts[:0]
	for i := range c.found {
		l := &c.found[i]
		id := c.value(l, valueOpenID)
		for j := maphash.Bytes(seed, id) & uint64(size-1); ; j = (j + 1) & uint64(size-1) {
			k := c.slots[j]
			if k == 0 {
				c.slots[j] = int32(len(c.firsts) + 1)
				c.firsts = append(c.firsts, int32(i))
				break
			}
			if first := &c.found[c.firsts[k-1]]; bytes.Equal(c.value(first, valueOpenID), id) {
				for v := valueNickname; v < numValues; v++ {
					if l.vals[v].end > l.vals[v].start {
						first.vals[v] = l.vals[v]
					}
				}
				break
			}
		}
	}
	recs := make([]console.Record, len(c.firsts))
	for k, i := range c.firsts {
		l := &c.found[i]
		var b strings.Builder
		n := 0
		for _, v := range l.vals {
			n += v.end - v.start
		}
		b.Grow(n)
		for v := range l.vals {
			b.Write(c.value(l, v))
		}
		all := b.String()
		var at int
		next := func(v int) string {
			s := all[at : at+l.vals[v].end-l.vals[v].start]
			at += len(s)
			return s
		}
		recs[k] = console.Record{OpenID: next(valueOpenID), Nickname: next(valueNickname), HeadImgURL: next(valueHeadImg),
			FansUIN: next(valueUIN), SessionID: next(valueSession), Source: source, SeenAt: now}
	}
	return recs
}

// value is the decoded value v of l.
func (c *collector) value(l *located, v int) []byte { return c.dec[l.vals[v].start:l.vals[v].end] }
