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
