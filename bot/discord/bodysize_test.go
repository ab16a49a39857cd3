package discord

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// worst is the character that takes the most bytes in an interaction's
// JSON: outside the Basic Multilingual Plane, escaped as a surrogate pair
// (12 bytes) by an encoder that escapes all it may.
const worst = "😀"

// largestInteraction is the largest interaction Discord can send the
// adapter: a modal submission of maxModalTop text inputs filled to
// maxTextInput characters, plus the resolved users and members of a full
// user select (the same modal cannot hold both: this is more than any),
// from a member with 250 roles, in a channel with the longest name and
// topic, from the message whose button opened the modal at Discord's
// limits (2000 characters of content, embeds of 6000, 5 rows of 5
// buttons) — the worst character wherever people write.
func largestInteraction(t *testing.T, e *env) []byte {
	t.Helper()
	fill := func(n int) string { return strings.Repeat(worst, n) }
	id := func(i int) string { return fmt.Sprintf("%018d", 100000000000000000+i) }
	user := func(i int) map[string]any {
		return map[string]any{"id": id(i), "username": strings.Repeat("u", 32), "global_name": fill(32),
			"discriminator": "0", "avatar": strings.Repeat("a", 34), "banner": strings.Repeat("b", 34), "accent_color": 16777215,
			"public_flags": 4194304, "flags": 4194304, "bot": false, "system": false,
			"avatar_decoration_data": map[string]any{"asset": strings.Repeat("c", 34), "sku_id": id(1), "expires_at": nil},
			"collectibles":           map[string]any{"nameplate": map[string]any{"sku_id": id(2), "asset": strings.Repeat("n", 60), "label": fill(40), "palette": "crimson"}},
			"primary_guild":          map[string]any{"identity_guild_id": id(3), "identity_enabled": true, "tag": fill(4), "badge": strings.Repeat("g", 34)},
			"clan":                   map[string]any{"identity_guild_id": id(3), "identity_enabled": true, "tag": fill(4), "badge": strings.Repeat("g", 34)},
		}
	}
	roles := make([]string, 250)
	for i := range roles {
		roles[i] = id(1000 + i)
	}
	member := func(i int) map[string]any {
		return map[string]any{"user": user(i), "nick": fill(32), "avatar": strings.Repeat("a", 34), "banner": strings.Repeat("b", 34),
			"roles": roles, "joined_at": "2026-01-01T00:00:00.000000+00:00", "premium_since": "2026-01-01T00:00:00.000000+00:00",
			"deaf": false, "mute": false, "flags": 10, "pending": false, "permissions": "2251799813685247",
			"communication_disabled_until": nil, "unusual_dm_activity_until": nil,
			"avatar_decoration_data": map[string]any{"asset": strings.Repeat("c", 34), "sku_id": id(1), "expires_at": nil}}
	}
	inputs := make([]any, maxModalTop)
	for i := range inputs {
		inputs[i] = map[string]any{"type": ctLabel, "id": 2*i + 1, "component": map[string]any{"type": ctTextInput, "id": 2*i + 2,
			"custom_id": fmt.Sprintf("%d", i) + strings.Repeat("i", maxCustomID-1), "value": fill(maxTextInput)}}
	}
	users, members := map[string]any{}, map[string]any{}
	for i := range maxUserSelect {
		u := user(100 + i)
		users[u["id"].(string)] = u
		m := member(100 + i)
		delete(m, "user")
		members[u["id"].(string)] = m
	}
	rows := make([]any, maxRows)
	for i := range rows {
		buttons := make([]any, maxRowButtons)
		for j := range buttons {
			buttons[j] = map[string]any{"type": ctButton, "id": 100 + 5*i + j, "style": 1, "label": fill(80),
				"custom_id": fmt.Sprintf("%d%d", i, j) + strings.Repeat("b", maxCustomID-2)}
		}
		rows[i] = map[string]any{"type": 1, "id": 100 + i, "components": buttons}
	}
	embeds := make([]any, maxEmbeds)
	for i := range embeds { // 6000 characters in all
		embeds[i] = map[string]any{"type": "rich", "title": fill(100), "description": fill(maxEmbedTotal/maxEmbeds - 100),
			"color": 5793266, "footer": map[string]any{"text": ""}}
	}
	message := map[string]any{"id": id(5), "channel_id": id(6), "type": 0, "content": fill(maxContent), "embeds": embeds,
		"components": rows, "author": user(7), "attachments": []any{}, "mentions": []any{}, "mention_roles": []any{},
		"pinned": false, "mention_everyone": false, "tts": false, "timestamp": "2026-12-05T12:00:00.000000+00:00",
		"edited_timestamp": nil, "flags": 64, "application_id": testApp, "webhook_id": testApp,
		"interaction_metadata": map[string]any{"id": id(8), "type": 2, "user": user(9), "authorizing_integration_owners": map[string]any{"0": testGuild}, "name": "billing buy"}}
	features := make([]string, 60)
	for i := range features {
		features[i] = fmt.Sprintf("FEATURE_%022d", i)
	}
	in := map[string]any{
		"id": id(10), "application_id": testApp, "type": itModalSubmit, "version": 1,
		"token": strings.Repeat("t", 220), "guild_id": testGuild, "channel_id": id(6),
		"guild": map[string]any{"id": testGuild, "locale": "en-US", "features": features},
		"channel": map[string]any{"id": id(6), "type": 0, "guild_id": testGuild, "name": fill(100), "topic": fill(1024),
			"position": 1, "flags": 0, "parent_id": id(11), "last_message_id": id(12), "rate_limit_per_user": 21600,
			"nsfw": false, "permissions": "2251799813685247", "theme_color": nil, "icon_emoji": map[string]any{"id": nil, "name": worst}},
		"member":          member(0),
		"app_permissions": "2251799813685247", "locale": "de", "guild_locale": "de",
		"entitlements": []any{}, "authorizing_integration_owners": map[string]any{"0": testGuild}, "context": 0,
		"attachment_size_limit": 524288000, "message": message,
		"data": map[string]any{"custom_id": "m" + strings.Repeat("x", maxCustomID-1), "components": inputs,
			"resolved": map[string]any{"users": users, "members": members}},
	}
	doc, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, r := range string(doc) {
		if r < 0x80 {
			b.WriteRune(r)
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&b, `\u%04x`, u)
		}
	}
	return b.Bytes()
}

// TestBodyLimit: maxBody takes the largest interaction with a margin, and
// not twice of it; a signed interaction of that size is verified and
// handled, and one over maxBody is refused with 413 — without being read
// when its length is announced, and read no further than the limit when
// it is not.
func TestBodyLimit(t *testing.T) {
	e := newEnv(t)
	largest := largestInteraction(t, e)
	t.Logf("largest interaction: %d bytes (%.0f KiB); maxBody %d (%.1f×)", len(largest), float64(len(largest))/1024,
		maxBody, float64(maxBody)/float64(len(largest)))
	if len(largest)*3/2 > maxBody {
		t.Errorf("maxBody %d leaves less than half again of the largest interaction (%d bytes)", maxBody, len(largest))
	}
	if maxBody > 2*len(largest) {
		t.Errorf("maxBody %d is more than twice the largest interaction (%d bytes): what no one sends is buffered unverified",
			maxBody, len(largest))
	}
	if w := e.post(largest); w.Code == http.StatusRequestEntityTooLarge || w.Code == http.StatusUnauthorized {
		t.Errorf("the largest interaction: status %d (%s), want it verified and handled", w.Code, w.Body)
	}
	over := bytes.Repeat([]byte("x"), maxBody+1)
	for _, announced := range []bool{true, false} {
		t.Run(fmt.Sprintf("announced %v", announced), func(t *testing.T) {
			body := &countingBody{r: bytes.NewReader(over)}
			r := httptest.NewRequest(http.MethodPost, "/discord/interactions", body)
			r.ContentLength = -1
			if announced {
				r.ContentLength = int64(len(over))
			}
			ts := fmt.Sprint(time.Now().Unix())
			r.Header.Set("X-Signature-Timestamp", ts)
			r.Header.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(e.priv, append([]byte(ts), over...))))
			w := httptest.NewRecorder()
			e.a.ServeHTTP(w, r)
			if w.Code != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d, want 413", w.Code)
			}
			most := maxBody + 1 + bytes.MinRead
			if announced {
				most = 0
			}
			if body.read > most {
				t.Errorf("%d bytes read, want at most %d", body.read, most)
			}
		})
	}
}
