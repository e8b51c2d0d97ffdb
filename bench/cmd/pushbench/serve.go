package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/kfsidebar/kfsidebar/push"
	"github.com/kfsidebar/kfsidebar/push/store"
	"github.com/kfsidebar/kfsidebar/push/wechattest"
	"github.com/kfsidebar/kfsidebar/push/wire"
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
	case "floor":
		h = floor{}
	case "floor-tcp":
		return serveRawTCP(ctx, *ready)
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

// floor is the least an HTTP gateway in Go can do for a plain push: read
// the body, find the user, answer transfer_customer_service. It checks no
// signature, parses nothing else and records nothing; it is no gateway,
// only the measure of what net/http and this harness cost by themselves.
type floor struct{}

func (floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		io.WriteString(w, r.URL.Query().Get("echostr"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	reply, ok := floorReply(body)
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", wire.XML.ContentType())
	w.Write(reply)
}

// floorReply is the floors' whole work: the transfer to the user the
// plain XML body names, found with bytes.Index; false when it names none.
func floorReply(body []byte) ([]byte, bool) {
	const open, end = "<FromUserName><![CDATA[", "]]>"
	i := bytes.Index(body, []byte(open))
	if i < 0 {
		return nil, false
	}
	user := body[i+len(open):]
	if j := bytes.Index(user, []byte(end)); j >= 0 {
		user = user[:j]
	}
	return wire.Transfer(wire.XML, string(user), account.OriginalID, time.Now().Unix()), true
}

// serveRawTCP is floor without net/http: HTTP/1.1 read off the socket
// with nothing checked but Content-Length, the same answer written back.
// It measures what the kernel's loopback and Go's scheduler cost for one
// request and its reply, the floor under any gateway on this machine.
func serveRawTCP(ctx context.Context, ready string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	if err := os.WriteFile(ready+".tmp", []byte(ln.Addr().String()), 0o600); err != nil {
		return err
	}
	if err := os.Rename(ready+".tmp", ready); err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil
		}
		go rawConn(c)
	}
}

func rawConn(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 16<<10)
	var out []byte
	for {
		var get bool
		var echo string
		length := 0
		for first := true; ; first = false {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if first {
				get = bytes.HasPrefix(line, []byte("GET "))
				if i := bytes.Index(line, []byte("echostr=")); i >= 0 {
					e := line[i+len("echostr="):]
					if j := bytes.IndexAny(e, "& "); j >= 0 {
						e = e[:j]
					}
					echo = string(e)
				}
				continue
			}
			if len(line) <= 2 {
				break
			}
			if k, v, ok := bytes.Cut(line, []byte(":")); ok && strings.EqualFold(string(k), "Content-Length") {
				length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
			}
		}
		body := make([]byte, length)
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		status, reply := "200 OK", []byte(echo)
		if !get {
			var ok bool
			if reply, ok = floorReply(body); !ok {
				status = "400 Bad Request"
			}
		}
		out = append(append(append(out[:0], "HTTP/1.1 "...), status...), "\r\nContent-Type: application/xml\r\nContent-Length: "...)
		out = strconv.AppendInt(out, int64(len(reply)), 10)
		out = append(out, "\r\n\r\n"...)
		out = append(out, reply...)
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}
