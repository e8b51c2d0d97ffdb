package msg

// catalog is every message, for TestCatalog.
var catalog []*Text

// text adds a message to the catalog.
func text(en, zh string) Text {
	t := Text{EN: en, ZH: zh}
	catalog = append(catalog, &t)
	return t
}
