// Command silenceper is silenceper/wechat v2's message server doing what
// pushbench asks of every gateway: verify the signatures, decrypt in safe
// mode, and answer a user's message with transfer_customer_service (XML;
// this library replies only in XML). It keeps no state: no dedupe, no
// outbox. pushbench starts it with -ready FILE and the account in
// PUSHBENCH_TOKEN, PUSHBENCH_AES_KEY and PUSHBENCH_APPID.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/silenceper/wechat/v2"
	"github.com/silenceper/wechat/v2/cache"
	offConfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/message"
)

func main() {
	ready := flag.String("ready", "", "file to write the address to")
	flag.Parse()
	oa := wechat.NewWechat().GetOfficialAccount(&offConfig.Config{
		AppID: os.Getenv("PUSHBENCH_APPID"), Token: os.Getenv("PUSHBENCH_TOKEN"),
		EncodingAESKey: os.Getenv("PUSHBENCH_AES_KEY"), Cache: cache.NewMemory(),
	})
	http.HandleFunc("/wechat", func(w http.ResponseWriter, r *http.Request) {
		srv := oa.GetServer(r, w)
		srv.SetMessageHandler(func(msg *message.MixMessage) *message.Reply {
			if msg.MsgType == message.MsgTypeEvent {
				return nil
			}
			return &message.Reply{MsgType: message.MsgTypeTransfer, MsgData: message.NewTransferCustomer("")}
		})
		if err := srv.Serve(); err != nil {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		if err := srv.Send(); err != nil {
			log.Print(err)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*ready+".tmp", []byte(ln.Addr().String()), 0o600); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(*ready+".tmp", *ready); err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.Serve(ln, nil))
}
