package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/kfsidebar/kfsidebar/push"
)

const gatewayReplayHelp = `列出网关的死信（重试多次后目标仍未接收的推送），或者在目标恢复后让它们重新发送。
正在运行的网关会在一两秒内发送；停止的网关在下次启动时发送。

List the gateway's dead letters (pushes a target never accepted, after every
retry), or make them due again once the target works. The running gateway
sends them within a second or two; a stopped one at its next start.

  kfsidebar gateway replay --config gateway.toml                    列出全部 / list them all
  kfsidebar gateway replay --config gateway.toml --target erp        列出 erp 的 / list erp's
  kfsidebar gateway replay --config gateway.toml --target erp --all  重发 erp 的全部 / send all of erp's again
  kfsidebar gateway replay --config gateway.toml 12 15               重发这些 ID / send these ids again`

func runGatewayReplay(ctx context.Context, args []string, out, errOut io.Writer) error {
	cfg := DefaultGatewayConfig()
	var (
		gf     gatewayFlags
		target string
		all    bool
		limit  int
	)
	fs := newFlagSet("gateway replay", "gateway replay [--config FILE] [--target NAME] [--all | ID…]", gatewayReplayHelp, errOut)
	cfg.bindFlags(fs, &gf)
	fs.StringVar(&target, "target", "", "only this target's dead letters")
	fs.BoolVar(&all, "all", false, "send every dead letter (of --target, or of every target) again")
	fs.IntVar(&limit, "limit", 100, "list at most this many")
	setup, err := loadGateway(&cfg, fs, &gf, args)
	if err != nil {
		return err
	}
	var ids []int64
	for _, a := range fs.Args() {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil || id <= 0 {
			return usageError{"gateway replay: " + zhEn(fmt.Sprintf("%q 不是死信的 ID（列表里 ID 一栏的数字）", a), fmt.Sprintf("%q is not a dead letter's id (the numbers in the ID column of the list)", a))}
		}
		ids = append(ids, id)
	}
	if all && len(ids) > 0 {
		return usageError{"gateway replay: " + zhEn("ID 和 --all 只能给一个", "give ids or --all, not both")}
	}
	st, err := openGatewayStore(ctx, setup.store, setup.push.Targets)
	if err != nil {
		return err
	}
	defer st.Close()
	srv, err := push.New(setup.push, st)
	if err != nil {
		return err
	}
	if all || len(ids) > 0 {
		n, err := srv.Replay(ctx, target, ids...)
		if err != nil {
			return replayError(err, target)
		}
		switch {
		case n == 0:
			fmt.Fprintln(out, zhEn("没有可重发的死信（用 kfsidebar gateway replay 列出死信）", "nothing to replay: no such dead letter (list them with kfsidebar gateway replay)"))
		default:
			fmt.Fprintln(out, zhEn(fmt.Sprintf("已让 %d 条死信重新发送：正在运行的网关会在几秒内发送（停止的网关在启动时发送）。", n),
				fmt.Sprintf("%d dead letter(s) due again: the running gateway sends them within a few seconds (a stopped one when it starts).", n)))
		}
		return nil
	}
	ds, err := srv.DeadLetters(ctx, target, limit)
	if err != nil {
		return replayError(err, target)
	}
	if len(ds) == 0 {
		fmt.Fprintln(out, zhEn("没有死信：每条推送都已送达目标，或者还在重试（见状态页）。", "no dead letters: every push reached its targets, or is still being retried (see the status page)."))
		return nil
	}
	fmt.Fprintf(out, "%s:\n\n", zhEn(fmt.Sprintf("死信（%d 条，最早的在前）", len(ds)), fmt.Sprintf("dead letters (%d, oldest first)", len(ds))))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTARGET\tPUSH\tATTEMPTS\tRECEIVED\tLAST ERROR")
	for _, d := range ds {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Target, payloadType(d.Payload), d.Attempts, d.Created.Local().Format("2006-01-02 15:04:05"), d.LastError)
	}
	tw.Flush()
	name := target
	if name == "" {
		name = ds[0].Target
	}
	fmt.Fprintf(out, "\n%s:\n  kfsidebar gateway replay --config %s --target %s --all\n  kfsidebar gateway replay --config %s %d   (%s)\n",
		zhEn("目标恢复后重发", "Once the target works, send them again"), shellQuote(gf.config), name, shellQuote(gf.config), ds[0].ID, zhEn("按 ID 重发一条", "one by id"))
	return nil
}

// replayError says what to do about a replay that failed.
func replayError(err error, target string) error {
	if errors.Is(err, push.ErrUnknownTarget) {
		return errors.New("gateway replay: " + zhEn(fmt.Sprintf("配置里没有目标 %q（目标名就是 [gateway.targets.NAME] 表的 NAME）", target),
			fmt.Sprintf("no target %q in the config (the names are the [gateway.targets.NAME] tables)", target)))
	}
	return fmt.Errorf("gateway replay: %w", err)
}

// payloadType is a delivery's push type (MsgType, or event:Event), read
// from its payload: the list shows what a dead letter is, never whose.
func payloadType(payload []byte) string {
	var p struct {
		MsgType string `json:"msg_type"`
		Event   string `json:"event"`
	}
	if json.Unmarshal(payload, &p) != nil || p.MsgType == "" {
		return "?"
	}
	if p.Event != "" {
		return p.MsgType + ":" + p.Event
	}
	return p.MsgType
}
