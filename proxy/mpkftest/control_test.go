package mpkftest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestControl(t *testing.T) {
	s := newServer(t, Options{})
	c := client(s)
	base := "https://" + Host + controlPrefix
	post := func(name string, form url.Values, header http.Header) (int, controlResp) {
		t.Helper()
		if header == nil {
			header = http.Header{}
		}
		resp, body := fetch(t, c, http.MethodPost, base+name, form, header)
		var got controlResp
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("POST %s: %v: %s", name, err, body)
		}
		return resp.StatusCode, got
	}

	tests := []struct {
		name     string
		path     string
		form     url.Values
		header   http.Header
		wantCode int
		wantUIN  int64
	}{
		{"next idle fan waits", "waiting", url.Values{}, nil, http.StatusOK, Roster[5].UIN},
		{"named fan is transferred", "transfer", url.Values{"uin": {strconv.FormatInt(Roster[10].UIN, 10)}}, nil, http.StatusOK, Roster[10].UIN},
		{"message to the latest open chat", "message", url.Values{"text": {"好的"}}, nil, http.StatusOK, Roster[1].UIN},
		{"cross-origin refused", "waiting", url.Values{}, http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden, 0},
		{"busy fan cannot wait again", "waiting", url.Values{"uin": {strconv.FormatInt(Roster[0].UIN, 10)}}, nil, http.StatusConflict, 0},
		{"unknown fan", "transfer", url.Values{"uin": {"42"}}, nil, http.StatusNotFound, 0},
		{"message to a waiting fan refused", "message", url.Values{"uin": {strconv.FormatInt(Roster[2].UIN, 10)}}, nil, http.StatusConflict, 0},
	}
	for _, tt := range tests {
		code, got := post(tt.path, tt.form, tt.header)
		if code != tt.wantCode {
			t.Errorf("%s: status %d, want %d (%+v)", tt.name, code, tt.wantCode, got)
			continue
		}
		if tt.wantUIN != 0 && (got.Fan == nil || got.Fan.UIN != tt.wantUIN) {
			t.Errorf("%s: fan %+v, want uin %d", tt.name, got.Fan, tt.wantUIN)
		}
	}

	var st controlState
	resp, body := fetch(t, c, http.MethodGet, base+"state", nil, nil)
	if err := json.Unmarshal(body, &st); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET state: %d %v", resp.StatusCode, err)
	}
	if len(st.Open) != 2 || len(st.Waiting) != 4 || len(st.Transfers) != 1 || len(st.Open)+len(st.Waiting)+len(st.Transfers)+len(st.Idle) != len(Roster) {
		t.Errorf("state = %+v, want 2 open, 4 waiting, 1 transfer and the rest idle", st)
	}
	resp, body = fetch(t, c, http.MethodGet, base, nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "新客户排队") {
		t.Errorf("control page = %d %.100s", resp.StatusCode, body)
	}
}
