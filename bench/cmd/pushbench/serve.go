package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/push/store"
	"github.com/kfsidebar/kfsidebar/push/wechattest"
)

// account is the mini program of every run.
var account = wechattest.Account{
	Token:          "pushbenchToken1",
	EncodingAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
	AppID:          "wxba5fad812f8e6fb9",
	OriginalID:     "gh_97417a04a28d",
}

const pushPath = "/wechat"

// targetSecret signs deliveries to the bench's target.
var targetSecret = []byte("pushbench-target-secret")

// serve runs one gateway until ctx ends: `serve kfsidebar -dir D -ready F
// -target URL`. It writes its address to the ready file.
func serve(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("serve: which gateway?")
	}
	name := args[0]
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	dir := fs.String("dir", "", "data directory")
	ready := fs.String("ready", "", "file to write the address to")
	target := fs.String("target", "", "target URL")
	profile := fs.String("cpuprofile", "", "write a CPU profile here")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var h http.Handler
	switch name {
	case "kfsidebar":
		st, err := store.OpenSQLite(ctx, filepath.Join(*dir, "gateway.db"))
		if err != nil {
			return err
		}
		defer st.Close()
		srv, err := push.New(push.Config{
			Token: account.Token, EncodingAESKey: account.EncodingAESKey, AppID: account.AppID, OriginalID: account.OriginalID,
			Targets: []push.Target{{Name: "shop", URL: *target, Secret: targetSecret}},
			Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		}, st)
		if err != nil {
			return err
		}
		go srv.Run(ctx)
		h = srv
	case "kfsidebar-nostore":
		// The same handler with nothing recorded and no targets: the work
		// the other gateways do (verify, decrypt, reply), without dedupe
		// and fan-out.
		srv, err := push.New(push.Config{
			Token: account.Token, EncodingAESKey: account.EncodingAESKey, AppID: account.AppID, OriginalID: account.OriginalID,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		}, noStore{})
		if err != nil {
			return err
		}
		h = srv
	default:
		return fmt.Errorf("serve: unknown gateway %q", name)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(pushPath, h)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	if err := os.WriteFile(*ready+".tmp", []byte(ln.Addr().String()), 0o600); err != nil {
		return err
	}
	if err := os.Rename(*ready+".tmp", *ready); err != nil {
		return err
	}
	<-ctx.Done()
	return hs.Shutdown(context.Background())
}

// noStore records nothing: every push is new.
type noStore struct{}

func (noStore) Accept(_ context.Context, a *push.Accepted) (push.Reply, bool, error) {
	return a.Reply, false, nil
}
func (noStore) Claim(context.Context, string, time.Time, time.Time, int) ([]push.Delivery, error) {
	return nil, nil
}
func (noStore) Delivered(context.Context, ...int64) error             { return nil }
func (noStore) Retry(context.Context, int64, time.Time, string) error { return nil }
func (noStore) Bury(context.Context, int64, string) error             { return nil }
func (noStore) Depth(context.Context) (map[string]push.Depth, error)  { return nil, nil }
func (noStore) Prune(context.Context, time.Time, time.Time) error     { return nil }
func (noStore) DeadLetters(context.Context, string, int) ([]push.Delivery, error) {
	return nil, nil
}
func (noStore) Replay(context.Context, string, []int64, time.Time) (int, error) { return 0, nil }
func (noStore) FeedAfter(context.Context, int64, time.Time, int) ([]push.FeedItem, error) {
	return nil, nil
}
