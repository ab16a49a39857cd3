package slack

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/billingbot/billingbot/commands"
)

// Manifest returns the app manifest (YAML) for "Create an app from a
// manifest": the /billing slash command with its usage from the command
// list, interactivity and events at <publicURL>/slack/events, the App Home
// tab, the bot scopes the adapter uses, the install flow's redirect URL and
// the events that tell of an uninstall.
func Manifest(bot *commands.Bot, publicURL string) string {
	endpoint := strings.TrimRight(publicURL, "/") + "/slack/events"
	var hint []string
	for _, s := range bot.Specs() {
		w := s.Name
		for _, a := range s.Args {
			w += " [" + a.Name + "]"
		}
		hint = append(hint, w)
	}
	usage := clip(strings.Join(hint, " | "), 1000)
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) } // a JSON string is a YAML string
	var b strings.Builder
	w := func(lines ...string) {
		for _, l := range lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	w("# billingbot Slack app manifest: api.slack.com/apps → Create New App → From a manifest.",
		"# HTTP mode: Slack sends commands, interactivity and events to "+endpoint+".",
		"# Socket Mode instead: set socket_mode_enabled: true (the request_url lines are then ignored),",
		"# create an app-level token with the connections:write scope and set SLACK_APP_TOKEN=xapp-….",
		"display_information:",
		"  name: billingbot",
		"  description: "+q(clip(bot.Text("en", "SlackAppDescription"), 140)),
		"  background_color: \"#1d4f91\"",
		"features:",
		"  app_home:",
		"    home_tab_enabled: true",
		"    messages_tab_enabled: true",
		"    messages_tab_read_only_enabled: true",
		"  bot_user:",
		"    display_name: billingbot",
		"    always_online: true",
		"  slash_commands:",
		"    - command: /billing",
		"      url: "+q(endpoint),
		"      description: "+q(clip(bot.Text("en", "SlackCommandDescription"), 100)),
		"      usage_hint: "+q(usage),
		"      should_escape: true",
		"oauth_config:",
		"  redirect_urls:",
		"    - "+q(strings.TrimRight(publicURL, "/")+CallbackPath)+" # the install flow (SLACK_CLIENT_ID)",
		"  scopes:",
		"    bot:",
	)
	for _, sc := range botScopes {
		w(fmt.Sprintf("      - %-17s # %s", sc.name, sc.why))
	}
	w("settings:",
		"  event_subscriptions:",
		"    request_url: "+q(endpoint),
		"    bot_events:",
		"      - app_home_opened",
		"      - app_uninstalled # the token is deleted",
		"      - tokens_revoked  # the same",
		"      - user_change     # a purchaser who leaves: admins decide a handover",
		"      - team_join       # one who comes back",
		"  interactivity:",
		"    is_enabled: true",
		"    request_url: "+q(endpoint),
		"  # true: an Enterprise Grid org admin can install the app for the whole",
		"  # organization (see SLACK_ENTERPRISE_ORG).",
		"  org_deploy_enabled: true",
		"  socket_mode_enabled: false",
		"  token_rotation_enabled: false",
	)
	return b.String()
}

// botScopes are the bot scopes the adapter uses, for the manifest and the
// install link.
var botScopes = []struct{ name, why string }{
	{"commands", "/billing"},
	{"chat:write", "answers, notifications"},
	{"chat:write.public", "notifications to a public admin channel the bot has not joined"},
	{"im:write", "direct messages to admins and purchasers"},
	{"users:read", "names, locale, admin flag, bots and deactivated users"},
	{"channels:read", "find a public admin channel by #name"},
	{"groups:read", "find a private admin channel by name (invite the bot to it)"},
	{"channels:history", "after a crash: did a notification reach the admin channel already?"},
	{"groups:history", "the same for a private admin channel"},
	{"im:history", "the same for a direct message"},
}

func botScopeNames() []string {
	out := make([]string, len(botScopes))
	for i, sc := range botScopes {
		out[i] = sc.name
	}
	return out
}
