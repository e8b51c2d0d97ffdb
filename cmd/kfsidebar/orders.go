package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kfsidebar/kfsidebar/internal/jsonrecord"
	"github.com/kfsidebar/kfsidebar/internal/textfile"
	"github.com/kfsidebar/kfsidebar/sidebar/shop/embedded"
)

func runOrders(ctx context.Context, args []string, out, errOut io.Writer) error {
	const help = "Manage the embedded order database (the default order backend).\n\n" +
		"Subcommands:\n  import FILE.json|FILE.csv   load customers and orders; all or nothing"
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(errOut, "%s\n\nUsage:\n  kfsidebar orders import [flags] FILE.json|FILE.csv\n", help)
		if len(args) == 0 {
			return usageError{"orders: missing subcommand"}
		}
		return nil
	}
	if args[0] != "import" {
		return usageError{fmt.Sprintf("orders: unknown subcommand %q (want import)", args[0])}
	}
	cfg := DefaultConfig()
	fs := newFlagSet("orders import", "orders import [flags] FILE.json|FILE.csv",
		"Load customers and orders into the embedded database, in one transaction:\n"+
			"if any record is bad, nothing is imported and the record and field are named.\n"+
			"Existing customers and orders with the same openid / order_no are updated.\n"+
			"The file is JSON, or CSV (a .csv file: one row per order item, as Excel or\n"+
			"WPS export it, with Chinese or English column names); docs/import.md has both.", errOut)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the CA, the database and the config (env KFSIDEBAR_DATA_DIR)")
	enc := textfile.Auto
	fs.Func("encoding", "the file's `encoding`: auto (a BOM, else UTF-8, else GBK/GB18030), utf-8, gbk or utf-16le", func(v string) (err error) {
		enc, err = textfile.ParseEncoding(v)
		return err
	})
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageError{"orders import: want exactly one FILE.json or FILE.csv"}
	}
	name := fs.Arg(0)
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	db, err := openDB(ctx, cfg.DataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	backend, err := embedded.New(ctx, db)
	if err != nil {
		return err
	}
	text, info, err := textfile.NewReader(f, enc)
	if err != nil {
		return fmt.Errorf("%s: %w, or name the file's encoding with --encoding (nothing was imported)", name, err)
	}
	if note := info.Describe(); note != "" {
		fmt.Fprintf(out, "%s: %s; check that the names look right (if not: --encoding, or save the file as UTF-8)\n", name, note)
	}
	imp := backend.Import
	if strings.EqualFold(filepath.Ext(name), ".csv") {
		imp = backend.ImportCSV
	}
	stats, err := imp(ctx, text)
	if err != nil {
		var ie *jsonrecord.ImportError
		var notUTF8 *textfile.NotUTF8Error
		if errors.As(err, &notUTF8) {
			return fmt.Errorf("%s: %w, or name the file's encoding with --encoding (nothing was imported)", name, err)
		}
		if errors.As(err, &ie) {
			return fmt.Errorf("%s: %w\nnothing was imported; fix the record and run the import again", name, err)
		}
		return fmt.Errorf("%s: %w (nothing was imported)", name, err)
	}
	fmt.Fprintf(out, "imported %d customers, %d orders (%d items) from %s\n", stats.Customers, stats.Orders, stats.Items, name)
	return nil
}
