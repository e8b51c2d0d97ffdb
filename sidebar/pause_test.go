package sidebar

import "testing"

// TestPausePushed: every open sidebar hears of a pause and of the resume,
// once per change; one that connects while paused hears of it first.
func TestPausePushed(t *testing.T) {
	th := newTestHub(t, HubOptions{Resolver: standardResolver(), Backend: standardBackend()})
	a := th.dial(t)
	th.SetPaused(true)
	th.SetPaused(true) // no change, no message
	if w := raw(t, a); w != `{"type":"pause","seq":0,"paused":true}` {
		t.Fatalf("pause: %s", w)
	}
	b := th.dial(t)
	if w := raw(t, b); w != `{"type":"pause","seq":0,"paused":true}` {
		t.Fatalf("connect while paused: %s", w)
	}
	th.SetPaused(false)
	if w := raw(t, a); w != `{"type":"pause","seq":0,"paused":false}` {
		t.Fatalf("resume: %s", w)
	}
	if w := raw(t, b); w != `{"type":"pause","seq":0,"paused":false}` {
		t.Fatalf("resume: %s", w)
	}
	// The selection protocol goes on as before.
	send(t, a, request{Type: typeSelect, Seq: 1, Avatar: avatarNoOne})
	expect(t, a, pendingMsg(1), message{Type: typeUnknown, Seq: 1, Reason: reasonNoSession})
}
